"""What the window's commands do: each controller talks to the annotation session and the workers."""
