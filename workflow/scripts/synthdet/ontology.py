"""From a class ontology to a detector caption, and from token scores to class scores.

The caption is every phrase, lower-cased, joined by " . " and ended with " ." (Grounding
DINO's own caption form). The detector scores every query box against every token; a
phrase's score is the max over its tokens and a class's score the max over its phrases,
so a label is always a class name, never a run of tokens such as `##lift` or `canperson`.
"""

from dataclasses import dataclass

import numpy as np

from .templates import normalized_phrase

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
    start == end and belong to no phrase.
    """
    if len(offsets) > MAX_TEXT_TOKENS:
        raise ValueError(
            f"the ontology's caption is {len(offsets)} tokens, above the detector's "
            f"{MAX_TEXT_TOKENS}: use fewer or shorter phrases"
        )
    tokens = []
    for start, end in ontology.spans:
        inside = [i for i, (s, e) in enumerate(offsets) if e > s and s >= start and e <= end]
        if not inside:
            raise ValueError(f"no token of the caption falls in phrase {ontology.caption[start:end]!r}")
        tokens.append(inside)
    return tokens


def class_scores(token_probs, ontology, tokens_of_phrase):
    """(boxes x tokens) probabilities -> (boxes x classes) scores."""
    token_probs = np.asarray(token_probs, dtype=np.float32)
    scores = np.zeros((token_probs.shape[0], len(ontology.classes)), dtype=np.float32)
    for phrase_index, tokens in enumerate(tokens_of_phrase):
        phrase_score = token_probs[:, tokens].max(axis=1)
        owner = ontology.phrase_class[phrase_index]
        scores[:, owner] = np.maximum(scores[:, owner], phrase_score)
    return scores
