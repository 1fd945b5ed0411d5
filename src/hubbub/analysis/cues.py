"""The cue words the classifier flags (thanks, a suggestion, a problem, spam, thread chatter, a question).

Here, apart from the featurizer (`features.py`, which needs scikit-learn), because pages use them too: the
"why this label" highlighting (`reasons.py`) runs in every web process that shows a conversation, and a web
process does not load the classifiers.
"""

from __future__ import annotations

import re

QUESTION_START = r"\W*(how|when|where|why|what|which|who|can|could|do|does|is|are|will|would)\b"
QUESTION = re.compile(rf"\?|^{QUESTION_START}", re.I)
SUGGEST = re.compile(
    r"\b(you should|should (have|add|offer|make|consider|start|bring)|please (add|bring|start|offer|consider)|"  # noqa: E501
    r"bring back|would (be|love) (nice|great|awesome|cool)|would be nice|suggest\w*|why not|how about|"
    r"feature request|consider (adding|offering)|wish you (had|would|guys)|it would help|need to add)\b",
    re.I,
)
SPAM = re.compile(
    r"\b(follow (me )?back|free followers|click here|giveaway|promo code|limited time|#contest|"
    r"chance to win|check out my|for only \$|get \d+ months)\b",
    re.I,
)
THANKS = re.compile(
    r"\b(thank\w*|thx|thnx|ty|kudos|shout ?out|appreciate\w*|love (you|it|flying)|awesome|great job)\b", re.I
)
# Problem wording (carries complaint vs question beyond airline vocabulary) and care
# thread chatter ("DM sent", "followed you"), which the guide labels `other`.
PROBLEM = re.compile(
    r"\b(still|again|worst|never|delay\w*|cancel\w*|lost|missing|broke\w*|refund\w*|wait\w*|hours|rude|"
    r"terrible|horrible|awful|ridiculous|unacceptable|disappoint\w*|not working|doesn't work|won't|can't|"
    r"nobody|no one|charged|overcharged|wrong|fail\w*|error|crash\w*|freez\w*)\b",
    re.I,
)
CHATTER = re.compile(r"\b(dm|dm'd|dmed|dms|direct message|sent you|followed|follow back|following you|done)\b", re.I)
