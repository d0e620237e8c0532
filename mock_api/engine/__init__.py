"""What the answer to an imageInference is: a recording's, else a synthesized one.

``answer`` picks between replay and synthesis; ``references`` turns reference
images into source pictures; ``items`` builds result items and their image fields.
"""
