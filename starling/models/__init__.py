"""All tables. Importing this package registers every model on ``Base.metadata``."""

from starling.models.base import Base
from starling.models.counters import CounterDelta
from starling.models.engagement import Bookmark, Like
from starling.models.graph import Block, Follower, Following, FollowRequest, Mute
from starling.models.media import Media, MediaKind, MediaStatus
from starling.models.notifications import Notification, NotificationActor, NotificationKind
from starling.models.outbox import DeliveryState, OutboxDelivery, OutboxEvent
from starling.models.tweets import (
    Tweet,
    TweetHashtag,
    TweetMedia,
    TweetMention,
    TweetStats,
    TweetVersion,
)
from starling.models.users import (
    ApiClient,
    ClientDocument,
    PersistedDocument,
    Session,
    User,
    UserSettings,
    UserStats,
)

__all__ = [
    "ApiClient",
    "Base",
    "Block",
    "Bookmark",
    "ClientDocument",
    "CounterDelta",
    "DeliveryState",
    "FollowRequest",
    "Follower",
    "Following",
    "Like",
    "Media",
    "MediaKind",
    "MediaStatus",
    "Mute",
    "Notification",
    "NotificationActor",
    "NotificationKind",
    "OutboxDelivery",
    "OutboxEvent",
    "PersistedDocument",
    "Session",
    "Tweet",
    "TweetHashtag",
    "TweetMedia",
    "TweetMention",
    "TweetStats",
    "TweetVersion",
    "User",
    "UserSettings",
    "UserStats",
]
