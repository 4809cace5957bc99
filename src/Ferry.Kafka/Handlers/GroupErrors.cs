using System.Net;
using Ferry.Broker.Groups;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>Maps the coordinator's outcomes to Kafka error codes, and other bits the group handlers share.</summary>
internal static class GroupErrors
{
    public static short ToErrorCode(GroupError error) => error switch
    {
        GroupError.None => ErrorCodes.None,
        GroupError.InvalidGroupId => ErrorCodes.InvalidGroupId,
        GroupError.InvalidSessionTimeout => ErrorCodes.InvalidSessionTimeout,
        GroupError.InconsistentGroupProtocol => ErrorCodes.InconsistentGroupProtocol,
        GroupError.UnknownMemberId => ErrorCodes.UnknownMemberId,
        GroupError.MemberIdRequired => ErrorCodes.MemberIdRequired,
        GroupError.IllegalGeneration => ErrorCodes.IllegalGeneration,
        GroupError.RebalanceInProgress => ErrorCodes.RebalanceInProgress,
        GroupError.FencedInstanceId => ErrorCodes.FencedInstanceId,
        GroupError.CoordinatorNotAvailable => ErrorCodes.CoordinatorNotAvailable,
        GroupError.GroupIdNotFound => ErrorCodes.GroupIdNotFound,
        GroupError.NonEmptyGroup => ErrorCodes.NonEmptyGroup,
        GroupError.GroupSubscribedToTopic => ErrorCodes.GroupSubscribedToTopic,
        GroupError.OffsetMetadataTooLarge => ErrorCodes.OffsetMetadataTooLarge,
        GroupError.UnknownTopicOrPartition => ErrorCodes.UnknownTopicOrPartition,
        GroupError.NotCoordinator => ErrorCodes.NotCoordinator,
        GroupError.CoordinatorLoadInProgress => ErrorCodes.CoordinatorLoadInProgress,
        _ => ErrorCodes.UnknownServerError,
    };

    /// <summary>Kafka's state names, as ListGroups and DescribeGroups report them.</summary>
    public static string StateName(GroupState state) => state switch
    {
        GroupState.Empty => "Empty",
        GroupState.PreparingRebalance => "PreparingRebalance",
        GroupState.CompletingRebalance => "CompletingRebalance",
        GroupState.Stable => "Stable",
        _ => "Dead",
    };

    /// <summary>"/127.0.0.1", as Kafka shows a member's host.</summary>
    public static string ClientHost(KafkaRequestContext context) => context.RemoteEndPoint switch
    {
        IPEndPoint ip => "/" + (ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address),
        { } other => "/" + other,
        null => "",
    };

    /// <summary>
    /// A waiting JoinGroup or SyncGroup must not outlive its connection: the connection's write loop awaits
    /// every pending response before it closes, and a rebalance can last minutes.
    /// </summary>
    public static async Task<T> UntilClosedAsync<T>(Task<T> task, KafkaRequestContext context) =>
        task.IsCompleted ? await task.ConfigureAwait(false) : await task.WaitAsync(context.ConnectionClosed).ConfigureAwait(false);
}
