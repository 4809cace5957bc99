namespace Ferry.Broker.Groups;

/// <summary>
/// The classic group protocol's states (Kafka's GroupState):
/// <code>
/// Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance ──leader syncs──▶ Stable
///   ▲                  ▲      │ nobody left                          │ join/leave/expiry          │
///   └──────────────────┼──────┘                                      ▼                            │
///                      └──────────────── join (new or changed member), leave, expiry ◀────────────┘
/// </code>
/// Dead: deleted (DeleteGroups, or offsets expired with no members); a dead group is never served again.
/// </summary>
public enum GroupState
{
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

/// <summary>Why a group request failed: the broker's words for the outcomes, mapped to Kafka error codes by the protocol layer.</summary>
public enum GroupError
{
    None,
    InvalidGroupId,
    InvalidSessionTimeout,
    InconsistentGroupProtocol,
    UnknownMemberId,
    MemberIdRequired,
    IllegalGeneration,
    RebalanceInProgress,
    FencedInstanceId,
    CoordinatorNotAvailable,
    GroupIdNotFound,
    NonEmptyGroup,
    GroupSubscribedToTopic,
    OffsetMetadataTooLarge,
    UnknownTopicOrPartition,
    /// <summary>This node does not lead the group's <c>__consumer_offsets</c> partition (NOT_COORDINATOR).</summary>
    NotCoordinator,
    /// <summary>This node leads the group's partition and is still reading it (COORDINATOR_LOAD_IN_PROGRESS).</summary>
    CoordinatorLoadInProgress,
}
