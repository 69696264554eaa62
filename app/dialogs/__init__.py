"""The dialogs and message boxes the window opens."""
