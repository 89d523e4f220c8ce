"""From a class ontology to a detector caption, and from token scores to class scores.

The caption is every phrase, lower-cased, joined by " . " and ended with " ." (Grounding
DINO's own caption form). The detector scores every query box against every token; a
phrase's score is the max over its tokens and a class's score the max over its phrases,
so a label is always a class name, never a run of tokens such as `##lift` or `canperson`.
"""

import re
from dataclasses import dataclass

import numpy as np

from ..core.names import normalized_phrase

MAX_TEXT_TOKENS = 256  # Grounding DINO's max_text_len, [CLS] and [SEP] included


@dataclass(frozen=True)
class Ontology:
    classes: tuple  # class names, in config order
    phrases: tuple  # every phrase, lower-cased
    phrase_class: tuple  # class index of each phrase
    caption: str
    spans: tuple  # (start, end) characters of each phrase in the caption


def build(classes):
    """`classes` maps class name -> phrases (as in a prompt template)."""
    names = tuple(classes)
    phrases, owners, spans = [], [], []
    caption = ""
    for index, name in enumerate(names):
        for phrase in classes[name]:
            text = normalized_phrase(phrase)
            if caption:
                caption += " . "
            spans.append((len(caption), len(caption) + len(text)))
            caption += text
            phrases.append(text)
            owners.append(index)
    return Ontology(names, tuple(phrases), tuple(owners), caption + " .", tuple(spans))


def phrase_tokens(ontology, offsets):
    """Token positions of each phrase, from the tokenizer's character offsets.

    `offsets[i]` is (start, end) of token i in the caption; special tokens have
    start == end and belong to no phrase. A caption over the detector's 256 tokens is
    refused, naming the phrase where it overflows.
    """
    problem = overflow(ontology, offsets)
    if problem:
        raise ValueError(problem)
    tokens = []
    for start, end in ontology.spans:
        inside = [i for i, (s, e) in enumerate(offsets) if e > s and s >= start and e <= end]
        if not inside:
            raise ValueError(
                f"no token of the caption falls in phrase {ontology.caption[start:end]!r}"
            )
        tokens.append(inside)
    return tokens


def overflow(ontology, offsets, counted="tokens"):
    """Why the caption does not fit the detector (naming the first phrase cut off), or
    None. Truncated to 256, a caption keeps [CLS], its first 254 tokens and [SEP]."""
    if len(offsets) <= MAX_TEXT_TOKENS:
        return None
    last_kept = offsets[MAX_TEXT_TOKENS - 2][1]  # end of the last caption token kept
    cut_off = [p for p, (_, end) in zip(ontology.phrases, ontology.spans) if end > last_kept]
    cut = cut_off[0] if cut_off else ontology.phrases[-1]  # only the closing " ." is cut
    return (
        f"the detector caption of these classes is {len(offsets)} {counted}, above the "
        f"detector's {MAX_TEXT_TOKENS} ([CLS] and [SEP] included); it overflows at phrase "
        f"{cut!r}: use fewer or shorter phrases"
    )


def word_offsets(caption):
    """Offsets of a lower bound of the caption's tokens, without a vocabulary: BERT's
    WordPiece makes at least one token of every word and of every punctuation mark."""
    words = [match.span() for match in re.finditer(r"\w+|[^\w\s]", caption)]
    return [(0, 0)] + words + [(0, 0)]


def class_scores(token_probs, ontology, tokens_of_phrase):
    """(boxes x tokens) probabilities -> (boxes x classes) scores."""
    token_probs = np.asarray(token_probs, dtype=np.float32)
    scores = np.zeros((token_probs.shape[0], len(ontology.classes)), dtype=np.float32)
    for phrase_index, tokens in enumerate(tokens_of_phrase):
        phrase_score = token_probs[:, tokens].max(axis=1)
        owner = ontology.phrase_class[phrase_index]
        scores[:, owner] = np.maximum(scores[:, owner], phrase_score)
    return scores
