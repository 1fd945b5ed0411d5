"""Words too common to be a trend, for the war room's emerging terms.

scikit-learn's English list (already a dependency of the classifiers) covers
the function words ("during", "always", "could") that a short hand-made list
kept missing; the shipped data also holds Spanish and French mentions, so the
commonest words of those languages are added, plus the debris of social text
(URL pieces, contractions without their apostrophe).
"""

from __future__ import annotations

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

__all__ = ["STOPWORDS"]

_SOCIAL = """amp http https co www com rt via it's i'm don't can't won't dont cant im ive youre thats what's
    didn't doesn't isn't wasn't i've you're they're we're let's gonna wanna got get today day time just
    really lol""".split()

_SPANISH = """que los las del por para con una uno unos unas sus como pero más mas muy ya este esta estos
    estas ese esa eso hay fue ser son está esta están tiene tengo todo todos nos les mi mis tu tus su al lo
    le se no sin sobre también tambien porque cuando donde hasta desde otra otro entre yo él ella ellos""".split()

_FRENCH = """les des une est pas pour que qui dans sur avec par plus mais ont son ses aux leur leurs nous
    vous ils elle elles cette ces ce cet été être avoir fait très tres tout tous toute aussi comme je tu il
    mon ton ma ta mes tes du au ne se sa en et le la un""".split()

STOPWORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS) | frozenset(_SOCIAL + _SPANISH + _FRENCH)
