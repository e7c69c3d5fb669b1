"""Follow, follow requests, block and mute.

A follow writes ``followers`` and ``following`` in one transaction, so the two always agree.
Every operation is idempotent.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from starling.core import Core
from starling.errors import DomainError, ErrorCode
from starling.events import (
    BlockCreated,
    FollowAccepted,
    FollowCreated,
    FollowRemoved,
    FollowRequested,
)
from starling.models import Block, Follower, Following, FollowRequest, Mute
from starling.records import UserRecord
from starling.services.targets import existing_user
from starling.storage.counters import Delta
from starling.unit_of_work import UnitOfWork, unit_of_work
from starling.visibility import blocked_either_way, follows


class FollowStatus(StrEnum):
    FOLLOWING = "following"
    REQUESTED = "requested"
    NOT_FOLLOWING = "not_following"


async def follow(core: Core, follower_id: int, target_id: int) -> tuple[UserRecord, FollowStatus]:
    if follower_id == target_id:
        raise DomainError(ErrorCode.CANNOT_FOLLOW_SELF, "You cannot follow yourself.", "id")
    async with unit_of_work(core) as work:
        session = work.session
        target = await existing_user(session, target_id)
        if await session.scalar(select(blocked_either_way(follower_id, target_id))):
            raise DomainError(ErrorCode.BLOCKED, "You cannot follow this account.", "id")
        if await session.scalar(select(follows(follower_id, target_id))):
            return UserRecord.of(target), FollowStatus.FOLLOWING
        if target.protected:
            requested = await session.scalar(
                pg_insert(FollowRequest)
                .values(target_id=target_id, requester_id=follower_id)
                .on_conflict_do_nothing()
                .returning(FollowRequest.requester_id)
            )
            if requested is not None:
                await work.emit(FollowRequested(follower_id=follower_id, followee_id=target_id))
            status = FollowStatus.REQUESTED
        else:
            await _add_follow(work, follower_id, target_id)
            status = FollowStatus.FOLLOWING
    return UserRecord.of(target), status


async def unfollow(core: Core, follower_id: int, target_id: int) -> tuple[UserRecord, FollowStatus]:
    """Stops following, or withdraws a pending request."""
    async with unit_of_work(core) as work:
        session = work.session
        target = await existing_user(session, target_id)
        await session.execute(
            delete(FollowRequest).where(
                FollowRequest.target_id == target_id, FollowRequest.requester_id == follower_id
            )
        )
        await _remove_follow(work, follower_id, target_id)
    return UserRecord.of(target), FollowStatus.NOT_FOLLOWING


async def approve_follow_request(core: Core, owner_id: int, requester_id: int) -> UserRecord:
    async with unit_of_work(core) as work:
        requester = await existing_user(work.session, requester_id)
        await _take_request(work.session, owner_id, requester_id)
        if await _add_follow(work, requester_id, owner_id):
            await work.emit(FollowAccepted(follower_id=requester_id, followee_id=owner_id))
    return UserRecord.of(requester)


async def reject_follow_request(core: Core, owner_id: int, requester_id: int) -> UserRecord:
    async with core.db.session() as session:
        requester = await existing_user(session, requester_id)
        await _take_request(session, owner_id, requester_id)
    return UserRecord.of(requester)


async def block(core: Core, blocker_id: int, target_id: int) -> UserRecord:
    """Blocking also ends follows both ways and pending requests both ways."""
    if blocker_id == target_id:
        raise DomainError(ErrorCode.CANNOT_BLOCK_SELF, "You cannot block yourself.", "id")
    async with unit_of_work(core) as work:
        session = work.session
        target = await existing_user(session, target_id)
        blocked = await session.scalar(
            pg_insert(Block)
            .values(blocker_id=blocker_id, blocked_id=target_id)
            .on_conflict_do_nothing()
            .returning(Block.blocker_id)
        )
        await session.execute(
            delete(FollowRequest).where(
                or_(
                    and_(
                        FollowRequest.target_id == target_id,
                        FollowRequest.requester_id == blocker_id,
                    ),
                    and_(
                        FollowRequest.target_id == blocker_id,
                        FollowRequest.requester_id == target_id,
                    ),
                )
            )
        )
        await _remove_follow(work, blocker_id, target_id)
        await _remove_follow(work, target_id, blocker_id)
        if blocked is not None:
            await work.emit(BlockCreated(blocker_id=blocker_id, blocked_id=target_id))
    return UserRecord.of(target)


async def unblock(core: Core, blocker_id: int, target_id: int) -> UserRecord:
    async with core.db.session() as session:
        target = await existing_user(session, target_id)
        await session.execute(
            delete(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == target_id)
        )
    return UserRecord.of(target)


async def mute(core: Core, muter_id: int, target_id: int) -> UserRecord:
    if muter_id == target_id:
        raise DomainError(ErrorCode.CANNOT_MUTE_SELF, "You cannot mute yourself.", "id")
    async with core.db.session() as session:
        target = await existing_user(session, target_id)
        await session.execute(
            pg_insert(Mute).values(muter_id=muter_id, muted_id=target_id).on_conflict_do_nothing()
        )
    return UserRecord.of(target)


async def unmute(core: Core, muter_id: int, target_id: int) -> UserRecord:
    async with core.db.session() as session:
        target = await existing_user(session, target_id)
        await session.execute(
            delete(Mute).where(Mute.muter_id == muter_id, Mute.muted_id == target_id)
        )
    return UserRecord.of(target)


# --- steps ----------------------------------------------------------------------------------


async def _take_request(session: AsyncSession, owner_id: int, requester_id: int) -> None:
    """Remove a pending request, or NOT_FOUND when there is none."""
    pending = await session.scalar(
        delete(FollowRequest)
        .where(FollowRequest.target_id == owner_id, FollowRequest.requester_id == requester_id)
        .returning(FollowRequest.requester_id)
    )
    if pending is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No pending request from this user.", "id")


async def _add_follow(work: UnitOfWork, follower_id: int, target_id: int) -> bool:
    """Both tables or neither; counted and announced when the follow is new."""
    added = await work.session.scalar(
        pg_insert(Following)
        .values(user_id=follower_id, following_id=target_id)
        .on_conflict_do_nothing()
        .returning(Following.user_id)
    )
    await work.session.execute(
        pg_insert(Follower)
        .values(user_id=target_id, follower_id=follower_id)
        .on_conflict_do_nothing()
    )
    if added is None:
        return False
    await work.emit(FollowCreated(follower_id=follower_id, followee_id=target_id))
    work.count(_follow_deltas(follower_id, target_id, 1))
    return True


async def _remove_follow(work: UnitOfWork, follower_id: int, target_id: int) -> None:
    """Both tables or neither; counted and announced when there was a follow."""
    removed = await work.session.scalar(
        delete(Following)
        .where(Following.user_id == follower_id, Following.following_id == target_id)
        .returning(Following.user_id)
    )
    await work.session.execute(
        delete(Follower).where(Follower.user_id == target_id, Follower.follower_id == follower_id)
    )
    if removed is not None:
        await work.emit(FollowRemoved(follower_id=follower_id, followee_id=target_id))
        work.count(_follow_deltas(follower_id, target_id, -1))


def _follow_deltas(follower_id: int, followee_id: int, amount: int) -> list[Delta]:
    return [
        Delta("user", follower_id, "following_count", amount),
        Delta("user", followee_id, "followers_count", amount),
    ]
