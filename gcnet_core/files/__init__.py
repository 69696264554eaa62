"""Reading and writing single files: images exactly as cv2 decodes them, masks, atomic writes."""
