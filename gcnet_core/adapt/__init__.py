"""Live adaptation: the head's last features kept per image (``features``, ``cache``), a light
classifier re-fitted on a person's corrections (``head``), adopted only when it scores better on
held-out images (``guard``), published as an ordinary checkpoint (``publish``), one round for a
project (``job``)."""
