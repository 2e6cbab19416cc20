# English pages write dates and times as Ukrainian ones do: one format in the camp.
from camp.formats.uk.formats import *  # noqa: F403
