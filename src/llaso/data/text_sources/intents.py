"""SLURP-style voice-assistant requests with exact intents and entity annotations.

Each pattern names its intent (scenario_action, shown as 'Calendar set') and its slots; a
slot's value is drawn from a small word list. The utterance is lower-case spoken text and the
annotation wraps each slot value as '[slot : value]', as in SLURP and LLaSO.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

SLOT_VALUES: dict[str, tuple[str, ...]] = {
    "date": ("today", "tomorrow", "monday", "tuesday", "wednesday", "thursday", "friday",
             "saturday", "sunday", "next week", "the weekend", "the fifth of may",
             "the twentieth", "new year's day", "the first of june", "this evening"),
    "time": ("seven am", "eight thirty", "noon", "ten pm", "six o'clock", "half past four",
             "nine fifteen", "eleven am", "quarter to three", "five pm", "midnight", "two thirty"),
    "timeofday": ("morning", "afternoon", "evening", "tonight"),
    "event_name": ("meeting", "dentist appointment", "team lunch", "yoga class", "birthday party",
                   "doctor's visit", "book club", "piano lesson", "conference call", "haircut"),
    "person": ("anna", "john", "maria", "david", "sarah", "peter", "lucy", "tom", "emma", "paul",
               "my mother", "my boss"),
    "place_name": ("london", "paris", "boston", "tokyo", "berlin", "chicago", "madrid", "dublin",
                   "seattle", "rome", "sydney", "toronto"),
    "house_place": ("kitchen", "bedroom", "living room", "bathroom", "hallway", "office", "garage"),
    "color_type": ("red", "blue", "green", "warm white", "purple", "orange", "yellow"),
    "artist_name": ("the beatles", "adele", "mozart", "queen", "bob marley", "taylor swift",
                    "miles davis", "abba"),
    "music_genre": ("jazz", "rock", "classical", "pop", "reggae", "blues", "country", "hip hop"),
    "song_name": ("yesterday", "let it be", "hello", "imagine", "bohemian rhapsody", "yellow"),
    "list_name": ("shopping", "to do", "grocery", "packing", "reading"),
    "food_type": ("pizza", "sushi", "curry", "noodles", "burgers", "salad", "tacos"),
    "news_topic": ("sports", "politics", "technology", "science", "business", "the economy"),
    "transport_type": ("train", "bus", "taxi", "flight", "ferry"),
    "weather_descriptor": ("rain", "snow", "sunny", "windy", "cold", "hot"),
    "device_type": ("vacuum cleaner", "robot vacuum", "coffee machine", "dishwasher", "fan"),
    "definition_word": ("serendipity", "ephemeral", "ubiquitous", "gregarious", "pragmatic",
                        "meticulous"),
    "currency_name": ("dollars", "euros", "pounds", "yen", "rupees"),
    "business_name": ("starbucks", "the bakery", "pizza hut", "the pharmacy", "the post office"),
    "radio_name": ("bbc radio four", "jazz fm", "classic fm", "the news station"),
    "podcast_name": ("the daily", "science weekly", "history hour", "tech talk"),
    "movie_type": ("comedy", "horror", "action", "romantic", "science fiction", "animated"),
}

# (intent, pattern); {slot} marks a slot, filled from SLOT_VALUES.
PATTERNS: tuple[tuple[str, str], ...] = (
    ("calendar_set", "remind me about the {event_name} on {date}"),
    ("calendar_set", "add a {event_name} with {person} {date} at {time}"),
    ("calendar_set", "schedule a {event_name} for {date}"),
    ("calendar_set", "put {event_name} in my calendar for {time}"),
    ("calendar_query", "what do i have on {date}"),
    ("calendar_query", "when is my {event_name}"),
    ("calendar_query", "do i have any meetings with {person} {date}"),
    ("calendar_remove", "cancel my {event_name} on {date}"),
    ("calendar_remove", "delete the {event_name} with {person}"),
    ("alarm_set", "set an alarm for {time}"),
    ("alarm_set", "wake me up at {time} {date}"),
    ("alarm_query", "what alarms do i have for {date}"),
    ("alarm_remove", "turn off the {time} alarm"),
    ("weather_query", "what is the weather like in {place_name} {date}"),
    ("weather_query", "will there be {weather_descriptor} in {place_name}"),
    ("weather_query", "is it going to be {weather_descriptor} {date}"),
    ("datetime_query", "what time is it in {place_name}"),
    ("datetime_query", "what is the date {date}"),
    ("iot_hue_lightoff", "turn off the lights in the {house_place}"),
    ("iot_hue_lightoff", "switch the {house_place} lights off"),
    ("iot_hue_lighton", "turn on the lights in the {house_place}"),
    ("iot_hue_lightchange", "change the {house_place} lights to {color_type}"),
    ("iot_hue_lightdim", "dim the lights in the {house_place}"),
    ("iot_cleaning", "start the {device_type} in the {house_place}"),
    ("iot_coffee", "make me a coffee at {time}"),
    ("play_music", "play some {music_genre} music"),
    ("play_music", "play {song_name} by {artist_name}"),
    ("play_music", "i want to listen to {artist_name}"),
    ("play_radio", "put on {radio_name}"),
    ("play_podcasts", "play the latest episode of {podcast_name}"),
    ("music_likeness", "i really like {music_genre}"),
    ("lists_createoradd", "add milk to my {list_name} list"),
    ("lists_remove", "remove eggs from the {list_name} list"),
    ("lists_query", "what is on my {list_name} list"),
    ("email_sendemail", "send an email to {person} about the {event_name}"),
    ("email_query", "do i have new emails from {person}"),
    ("news_query", "what is the latest news about {news_topic}"),
    ("news_query", "tell me the {news_topic} headlines"),
    ("qa_definition", "what does {definition_word} mean"),
    ("qa_currency", "how many {currency_name} is ten dollars"),
    ("transport_ticket", "book a {transport_type} ticket to {place_name} for {date}"),
    ("transport_query", "when is the next {transport_type} to {place_name}"),
    ("transport_taxi", "get me a taxi to {business_name} at {time}"),
    ("takeaway_order", "order some {food_type} from {business_name}"),
    ("takeaway_query", "is {business_name} open {timeofday}"),
    ("recommendation_movies", "recommend a good {movie_type} movie"),
    ("recommendation_events", "what events are on in {place_name} {date}"),
    ("cooking_recipe", "how do i make {food_type}"),
    ("audio_volume_up", "turn the volume up"),
    ("audio_volume_down", "make it quieter please"),
    ("audio_volume_mute", "mute the speaker for {time}"),
    ("general_joke", "tell me a joke"),
    ("social_post", "post on social media that i am in {place_name}"),
)

_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Request:
    intent: str  # calendar_set
    utterance: str  # what is spoken
    annotated: str  # with [slot : value] tags

    @property
    def intent_label(self) -> str:
        """'calendar_set' -> 'Calendar set' (LLaSO's IP reference style)."""
        return intent_label(self.intent)


def intent_label(intent: str) -> str:
    words = intent.split("_")
    return " ".join([words[0].capitalize(), *words[1:]])


def intent_labels() -> tuple[str, ...]:
    return tuple(sorted({intent_label(intent) for intent, _ in PATTERNS}))


def random_request(rng: np.random.Generator) -> Request:
    intent, pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
    spoken, tagged = [], []
    position = 0
    for match in _SLOT.finditer(pattern):
        literal = pattern[position:match.start()]
        spoken.append(literal)
        tagged.append(literal)
        slot = match.group(1)
        values = SLOT_VALUES[slot]
        value = values[int(rng.integers(len(values)))]
        spoken.append(value)
        tagged.append(f"[{slot} : {value}]")
        position = match.end()
    spoken.append(pattern[position:])
    tagged.append(pattern[position:])
    return Request(intent, " ".join("".join(spoken).split()), " ".join("".join(tagged).split()))
