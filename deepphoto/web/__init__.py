"""DeepPhoto Studio: the local web app of ``deepphoto serve`` (photo, live camera, steering a run).

- ``app``: the FastAPI application factory (routes, access token, one-line JSON errors);
- ``limits``: upload caps checked on the file's header before decoding, rate limits, bounded slots;
- ``store``: uploads per page, in memory and in a temporary folder, dropped when the page goes away;
- ``gallery``: style thumbnails painted at run time from a synthetic sample;
- ``photo``: the photo studio (previews, masks, full-size renders, "any painting");
- ``jobs``: "best quality" (the photo optimiser) as cancellable jobs with progress;
- ``live``: the browser's camera over WebRTC (aiortc), newest frame wins;
- ``control``: the small HTTP endpoint of ``deepphoto run ... --control PORT`` (standard library only);
- ``camera``: the Camera tab's side of it: runs started from the page, and their steering;
- ``server``: binding, printing the address, uvicorn, clean-up at exit.

Only ``app`` and ``server`` (and ``live``, for aiortc) need the ``web`` extra.
"""
