"""The command-language parser (DESIGN §4): a message text becomes a `Command` or a `ParseError`.

`parse` never raises: garbage, huge texts and unknown verbs come back as a ParseError that says why and
shows the right form. `render` writes a Command back as canonical text (parse(render(c)) == c).
"""

from handlers.parse.common import MAX_LENGTH, id_of
from handlers.parse.entry import parse
from handlers.parse.render import render
from handlers.parse.verbs import bare_verb, match_verb, unknown_verb

__all__ = ["MAX_LENGTH", "bare_verb", "id_of", "match_verb", "parse", "render", "unknown_verb"]
