"""The market core: one definition of every number users see.

Best price and the books offering it, consensus (median), implied and fair probabilities, book %,
moves, steamers and drifters (`market.maths`), the race analytics built from them
(`market.analytics`), and the staleness rule every copy of a book applies (`market.maths.is_newer`:
a newer (source_time, event_id) wins). The streams worker computes these numbers; the REST API and
the live hub relay them, and where they must compute one themselves (a past book, a websocket best
price) they call this package, so no surface can disagree (conventions 12). It imports neither
streams/ nor api/, which both import it, like schemas/.

Native code accelerates, it does not gate (`market.native`).
"""
