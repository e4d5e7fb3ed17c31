"""Physical constants every part of the engine that reasons about sound in air shares (the
cues, the binaural renderer, the bench's microphones and its plain peer)."""

SPEED_OF_SOUND = 343.0  # m/s, dry air at 20 C
