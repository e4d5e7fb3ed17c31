"""Data files (example clips, HRTF tables, tagger vocabulary, planner examples, model
registry). A package only so that wheels install it beside ``engine`` and ``models``."""
