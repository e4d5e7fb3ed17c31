"""Naming what is sounding: each source's own signal for the tagger, and the AudioSet
ontology that turns class scores into the noun a person would use."""
