"""Words that say nothing about what a question is about, each list with its reason."""

from __future__ import annotations

# Left out of keyword queries, answer overlap and topic words: grammar, and the verbs and
# nouns every question to a plan search wraps around its topic ("show me the plans for").
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves tell show give find
please plans plan s
""".split())

# "how much", "how many": question words, though not grammar to the keyword index
QUESTION_WORDS = STOPWORDS | {"much", "many"}

# Words so common in health-and-care plans that finding them says nothing about
# whether a passage is on the question's topic.
GENERIC = frozenset("""
nhs health care services service people patients local area areas system systems
programme programmes strategy priorities priority approach work working new improve
improving support much many does going doing happen happening ics icb stp
""".split()) | frozenset("""
like best way ways good better make makes made get gets got use used using need needs
know tell say take give find look want day days time times year years today tomorrow
world first last long far away right high low old big small great little own other
same different next early late young important few able thing things kind lot lots
learn learning help start end part place put set show try turn keep let come came
getting done gone goes went given giving taken taking making
""".split())  # everyday English: it appears in any long document, whatever its subject
