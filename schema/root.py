"""The root Query and Mutation types: each field names its resolver and nothing more."""

from __future__ import annotations

import strawberry

from resolvers import accounts, engagement, media, nodes, relationships, search, trends, tweets
from resolvers import notifications as notification_resolvers
from schema.accounts import AuthPayload, LogoutPayload, UpdateProfilePayload
from schema.connections import Connection
from schema.media import MediaPayload, MediaUploadPayload
from schema.node import Node
from schema.notifications import MarkReadPayload, Notification
from schema.payloads import (
    DeleteTweetPayload,
    EditTweetPayload,
    EngagementPayload,
    FollowPayload,
    PostTweetPayload,
    RelationshipPayload,
    RetweetPayload,
)
from schema.search import Hashtag, Suggestion
from schema.trends import Trend
from schema.tweets import Tweet
from schema.users import User


@strawberry.type
class Query:
    node: Node | None = strawberry.field(resolver=nodes.node, description="Any object by id.")
    nodes: list[Node | None] = strawberry.field(
        resolver=nodes.nodes, description="Objects by id, null where missing or hidden."
    )
    viewer: User | None = strawberry.field(
        resolver=accounts.viewer, description="The signed-in user, or null."
    )
    user: User | None = strawberry.field(resolver=accounts.user, description="A user by username.")
    tweet: Tweet | None = strawberry.field(
        resolver=tweets.tweet, description="A tweet, or null if missing or hidden from the viewer."
    )
    home_timeline: Connection[Tweet] = strawberry.field(
        resolver=tweets.home_timeline,
        description="Tweets of the viewer and the accounts they follow, newest first.",
    )
    bookmarks: Connection[Tweet] = strawberry.field(
        resolver=tweets.bookmarks, description="The viewer's bookmarks, newest first."
    )
    notifications: Connection[Notification] = strawberry.field(
        resolver=notification_resolvers.notifications_page,
        description="The viewer's notifications, most recently updated first.",
    )
    unread_notifications_count: int = strawberry.field(
        resolver=notification_resolvers.unread_notifications_count
    )
    follow_requests: Connection[User] = strawberry.field(
        resolver=relationships.follow_requests,
        description="Pending requests to follow the viewer (a protected account).",
    )
    search_tweets: Connection[Tweet] = strawberry.field(
        resolver=search.search_tweets,
        description='Tweets matching the query language (words, "phrases", -exclude, OR, '
        "#tag, @user, from:, to:, since:, until:, has:, is:, min_likes:, min_retweets:, lang:).",
    )
    search_users: Connection[User] = strawberry.field(
        resolver=search.search_users,
        description="Accounts by username or name: exact username first, then prefix and "
        "fuzzy matches, accounts the viewer follows and popular ones first.",
    )
    autocomplete: list[Suggestion] = strawberry.field(
        resolver=search.autocomplete,
        description="Users and hashtags starting with the prefix ('@' for users only, '#' for "
        "hashtags only).",
    )
    hashtag: Hashtag | None = strawberry.field(resolver=search.hashtag)
    trends: list[Trend] = strawberry.field(
        resolver=trends.trends,
        description="Hashtags many accounts suddenly use, globally or in a region (a two-letter "
        "code); personalized weighs in the accounts the viewer follows.",
    )


@strawberry.type
class Mutation:
    register: AuthPayload = strawberry.mutation(resolver=accounts.register)
    login: AuthPayload = strawberry.mutation(resolver=accounts.login)
    logout: LogoutPayload = strawberry.mutation(
        resolver=accounts.logout, description="Revokes the token this request was sent with."
    )
    update_profile: UpdateProfilePayload = strawberry.mutation(resolver=accounts.update_profile)

    post_tweet: PostTweetPayload = strawberry.mutation(resolver=tweets.post_tweet)
    upload_media: MediaPayload = strawberry.mutation(
        resolver=media.upload_media,
        description="An image by the GraphQL multipart request spec (send the header "
        "Apollo-Require-Preflight); processed by a worker: poll its status or attach it once "
        "READY.",
    )
    create_media_upload: MediaUploadPayload = strawberry.mutation(
        resolver=media.create_media_upload,
        description="A presigned URL to PUT a file to (S3's, or Starling's own on local disk).",
    )
    finalize_media_upload: MediaPayload = strawberry.mutation(
        resolver=media.finalize_media_upload,
        description="Check what was PUT and start processing it.",
    )
    edit_tweet: EditTweetPayload = strawberry.mutation(resolver=tweets.edit_tweet)
    delete_tweet: DeleteTweetPayload = strawberry.mutation(resolver=tweets.delete_tweet)

    like_tweet: EngagementPayload = strawberry.mutation(resolver=engagement.like_tweet)
    unlike_tweet: EngagementPayload = strawberry.mutation(resolver=engagement.unlike_tweet)
    retweet: RetweetPayload = strawberry.mutation(resolver=engagement.retweet)
    undo_retweet: EngagementPayload = strawberry.mutation(resolver=engagement.undo_retweet)
    bookmark_tweet: EngagementPayload = strawberry.mutation(resolver=engagement.bookmark_tweet)
    unbookmark_tweet: EngagementPayload = strawberry.mutation(resolver=engagement.unbookmark_tweet)

    follow_user: FollowPayload = strawberry.mutation(
        resolver=relationships.follow_user,
        description="Follows, or asks to follow a protected account (status REQUESTED).",
    )
    unfollow_user: FollowPayload = strawberry.mutation(
        resolver=relationships.unfollow_user, description="Also withdraws a pending request."
    )
    approve_follow_request: RelationshipPayload = strawberry.mutation(
        resolver=relationships.approve_follow_request
    )
    reject_follow_request: RelationshipPayload = strawberry.mutation(
        resolver=relationships.reject_follow_request
    )
    block_user: RelationshipPayload = strawberry.mutation(
        resolver=relationships.block_user, description="Also ends follows both ways."
    )
    unblock_user: RelationshipPayload = strawberry.mutation(resolver=relationships.unblock_user)
    mute_user: RelationshipPayload = strawberry.mutation(resolver=relationships.mute_user)
    unmute_user: RelationshipPayload = strawberry.mutation(resolver=relationships.unmute_user)
    mark_notifications_read: MarkReadPayload = strawberry.mutation(
        resolver=notification_resolvers.mark_notifications_read,
        description="Marks read all notifications, or those up to and including upTo.",
    )
