"""Live adaptation on the head's last features (``predict.features``, kept by
``project.feature_cache``): a light classifier re-fitted on a person's corrections (``head``),
adopted only when it scores better on held-out images (``guard``), published as an ordinary
checkpoint (``publish``), one round for a project (``job``)."""
