"""The Gemini analyser (``ANALYZER=gemini``): the model call and its retries in ``analyzer``,
the request it sends in ``request``, the page text it is given in ``text`` and the screenshot
in ``image``."""
