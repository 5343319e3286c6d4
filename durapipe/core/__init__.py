"""The small core every room stands on: errors, names, canonical JSON, file signatures, atomic files, project paths."""
