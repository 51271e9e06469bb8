// @voxpipe/engine-espeak — the table of contents.
