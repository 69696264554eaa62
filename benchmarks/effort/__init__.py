"""The annotation-effort benchmark's parts (run it with ``benchmarks/annotation_effort.py``).

- :mod:`.costs`: the frozen cost model (seconds per action, what an attempt and an undo cost);
- :mod:`.placement`: where a person puts a stroke or a polygon, from what they see;
- :mod:`.tools`: the corrections each app tool makes, through the real document;
- :mod:`.annotator`: the simulated annotator and how it chooses;
- :mod:`.ways`: the ways of working compared;
- :mod:`.images`: the image sets; :mod:`.model`: the model and its state between images;
- :mod:`.report`: figures per seed and their spread; :mod:`.window`: the wait in the window;
- :mod:`.sequence`: the sequence mode (images corrected one after another, live adaptation
  off and on), with :mod:`.live` its starting model and the project it adapts.
"""
