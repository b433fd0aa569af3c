"""Words as the service reads them, defined once: tokens and the normalising of special
terms (`tokens`), stopwords (`stopwords`), when two words count as the same (`stems`),
NHS synonyms (`synonyms`), the phrases a keyword query adds (`phrases`) and a question
without its places (`places`). The store analyses chunks and queries with it; retrieval
scores topics, answers and follow-ups with it.

A leaf: it imports nothing else of the service. Place stripping takes the gazetteer as
an argument (`places.Places`) instead of importing `service.areas`, so the gazetteer's
loading stays with its owner and this package can sit below the store."""

from service.text.phrases import PHRASES, name_phrases
from service.text.places import strip_places, topic_phrase, topic_words
from service.text.stems import root, stems, text_stems
from service.text.stopwords import GENERIC, QUESTION_WORDS, STOPWORDS
from service.text.synonyms import expansions, synonym_groups, synonym_stems
from service.text.tokens import WORD, index_terms, normalise, query_terms, words

__all__ = ["GENERIC", "PHRASES", "QUESTION_WORDS", "STOPWORDS", "WORD", "expansions",
           "index_terms", "name_phrases", "normalise", "query_terms", "root", "stems",
           "strip_places", "synonym_groups", "synonym_stems", "text_stems", "topic_phrase",
           "topic_words", "words"]
