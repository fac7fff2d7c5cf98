"""Questions with short answers that can be checked exactly, in three layouts.

Every item gives the whole spoken question (pure-audio layout), an instruction plus a spoken
input (text-instruction layout) and a spoken instruction plus a written input (audio-instruction
layout), all with the same answer. Kinds: arithmetic, comparison, counting, colour mixing,
capitals, opposites, plurals, days and months, first letters, animal sounds, word length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """0 <= n < 1000 in words: 42 -> 'forty-two'."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")


@dataclass(frozen=True)
class QAItem:
    kind: str
    question: str  # the whole query, spoken in the (a) layout
    instruction: str  # (t,a): written; (a,t): spoken
    spoken_input: str  # (t,a): the audio
    text_input: str  # (a,t): the written input
    answer: str


CAPITALS = {
    "France": "Paris", "Germany": "Berlin", "Italy": "Rome", "Spain": "Madrid",
    "Portugal": "Lisbon", "Japan": "Tokyo", "China": "Beijing", "Egypt": "Cairo",
    "Kenya": "Nairobi", "Canada": "Ottawa", "Mexico": "Mexico City", "Peru": "Lima",
    "Norway": "Oslo", "Sweden": "Stockholm", "Finland": "Helsinki", "Poland": "Warsaw",
    "Greece": "Athens", "Ireland": "Dublin", "Austria": "Vienna", "Russia": "Moscow",
    "India": "New Delhi", "Thailand": "Bangkok", "Argentina": "Buenos Aires",
    "Chile": "Santiago", "Cuba": "Havana", "Denmark": "Copenhagen", "Hungary": "Budapest",
    "Turkey": "Ankara", "Australia": "Canberra", "Brazil": "Brasilia",
}
COLOUR_MIXES = {
    ("blue", "yellow"): "green", ("red", "yellow"): "orange", ("red", "blue"): "purple",
    ("red", "white"): "pink", ("black", "white"): "grey", ("blue", "white"): "light blue",
    ("red", "green"): "brown",
}
OPPOSITES = {
    "hot": "cold", "big": "small", "up": "down", "fast": "slow", "happy": "sad",
    "early": "late", "light": "dark", "open": "closed", "full": "empty", "old": "new",
    "hard": "soft", "wet": "dry", "loud": "quiet", "rich": "poor", "strong": "weak",
    "tall": "short", "thick": "thin", "above": "below", "inside": "outside", "win": "lose",
    "buy": "sell", "push": "pull", "first": "last", "day": "night", "north": "south",
}
PLURALS = {
    "mouse": "mice", "child": "children", "tooth": "teeth", "foot": "feet", "man": "men",
    "woman": "women", "goose": "geese", "person": "people", "leaf": "leaves", "knife": "knives",
    "wolf": "wolves", "box": "boxes", "city": "cities", "baby": "babies", "fish": "fish",
    "sheep": "sheep", "cactus": "cacti", "potato": "potatoes", "bus": "buses", "ox": "oxen",
}
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
ANIMAL_SOUNDS = {"cow": "moo", "dog": "woof", "cat": "meow", "sheep": "baa", "duck": "quack",
                 "lion": "roar", "owl": "hoot", "pig": "oink", "horse": "neigh", "snake": "hiss"}
COUNT_NOUNS = ("apples", "chairs", "birds", "books", "cars", "coins", "cups", "trees", "stars",
               "pencils", "boats", "shoes")
WORDS = ("garden", "window", "river", "music", "table", "planet", "orange", "pencil", "winter",
         "butter", "silver", "rocket", "castle", "forest", "island", "summer", "kitchen", "doctor",
         "engine", "bridge", "market", "letter", "yellow", "banana", "camera", "dragon", "jacket")


def _pick(rng: np.random.Generator, items):
    items = list(items)
    return items[int(rng.integers(len(items)))]


def _arithmetic(rng: np.random.Generator) -> QAItem:
    op = _pick(rng, ["plus", "minus", "times"])
    if op == "times":
        a, b = int(rng.integers(2, 13)), int(rng.integers(2, 13))
        answer = a * b
    else:
        a, b = int(rng.integers(1, 100)), int(rng.integers(1, 100))
        if op == "minus" and b > a:
            a, b = b, a
        answer = a + b if op == "plus" else a - b
    verb = {"plus": "Add", "minus": "Subtract the second number from the first of", "times": "Multiply"}[op]
    return QAItem(
        "arithmetic", f"What is {number_words(a)} {op} {number_words(b)}?",
        f"{verb} the two numbers and answer with digits only.",
        f"{number_words(a)} and {number_words(b)}", f"{a} and {b}", str(answer))


def _compare(rng: np.random.Generator) -> QAItem:
    a, b = (int(x) for x in rng.choice(np.arange(1, 1000), size=2, replace=False))
    bigger = _pick(rng, [True, False])
    word = "larger" if bigger else "smaller"
    answer = max(a, b) if bigger else min(a, b)
    return QAItem(
        "compare", f"Which is {word}, {number_words(a)} or {number_words(b)}?",
        f"Say which of the two numbers is {word}, in digits.",
        f"{number_words(a)} or {number_words(b)}", f"{a} or {b}", str(answer))


def _count(rng: np.random.Generator) -> QAItem:
    k = int(rng.integers(2, 8))
    words = [str(w) for w in rng.choice(WORDS, size=k, replace=False)]
    listing = ", ".join(words)
    return QAItem(
        "count", f"How many words are in this list: {listing}?",
        "Count the words in the list and answer with a number.",
        listing, listing, str(k))


def _colour(rng: np.random.Generator) -> QAItem:
    (a, b), mixed = _pick(rng, COLOUR_MIXES.items())
    if rng.random() < 0.5:
        a, b = b, a
    return QAItem(
        "colour", f"What colour do you get when you mix {a} and {b} paint?",
        "Name the colour you get by mixing these two paints.",
        f"{a} and {b}", f"{a} and {b}", mixed)


def _capital(rng: np.random.Generator) -> QAItem:
    country, capital = _pick(rng, CAPITALS.items())
    return QAItem("capital", f"What is the capital of {country}?",
                  "Name the capital city of this country.", country, country, capital)


def _opposite(rng: np.random.Generator) -> QAItem:
    word, opposite = _pick(rng, OPPOSITES.items())
    if rng.random() < 0.5:
        word, opposite = opposite, word
    return QAItem("opposite", f"What is the opposite of {word}?",
                  "Give the opposite of this word.", word, word, opposite)


def _plural(rng: np.random.Generator) -> QAItem:
    word, plural = _pick(rng, PLURALS.items())
    return QAItem("plural", f"What is the plural of {word}?",
                  "Give the plural form of this word.", word, word, plural)


def _sequence(rng: np.random.Generator) -> QAItem:
    names = DAYS if rng.random() < 0.5 else MONTHS
    i = int(rng.integers(len(names)))
    after = rng.random() < 0.5
    answer = names[(i + 1) % len(names)] if after else names[(i - 1) % len(names)]
    unit = "day" if names is DAYS else "month"
    rel = "after" if after else "before"
    return QAItem("sequence", f"Which {unit} comes {rel} {names[i]}?",
                  f"Which {unit} comes {rel} this one?", names[i], names[i], answer)


def _first_letter(rng: np.random.Generator) -> QAItem:
    word = str(_pick(rng, WORDS))
    return QAItem("first_letter", f"What is the first letter of the word {word}?",
                  "Give the first letter of this word, as a capital letter.", word, word,
                  word[0].upper())


def _animal(rng: np.random.Generator) -> QAItem:
    animal, sound = _pick(rng, ANIMAL_SOUNDS.items())
    return QAItem("animal_sound", f"What sound does a {animal} make?",
                  "What sound does this animal make? Answer with one word.", animal, animal, sound)


def _word_length(rng: np.random.Generator) -> QAItem:
    word = str(_pick(rng, WORDS))
    return QAItem("word_length", f"How many letters are in the word {word}?",
                  "How many letters does this word have? Answer with a number.", word, word,
                  str(len(word)))


GENERATORS: tuple[Callable[[np.random.Generator], QAItem], ...] = (
    _arithmetic, _arithmetic, _compare, _count, _colour, _capital, _capital, _opposite,
    _plural, _sequence, _first_letter, _animal, _word_length,
)


def random_qa(rng: np.random.Generator) -> QAItem:
    return GENERATORS[int(rng.integers(len(GENERATORS)))](rng)
