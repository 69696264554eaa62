"""Everything that must not run on the UI thread: scans, thumbnails, inference, downloads,
batch segmentation (a separate process) and export."""
