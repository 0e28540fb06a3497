"""Link shortening and click tracking (SPEC F-LINK).

``rewrite`` finds URLs in a message body and swaps them for short links, ``slugs`` makes
and checks the short codes, ``useragent`` classifies the clients that follow them. Those
three are pure: plain data in and out, no database, web framework or network.
"""
