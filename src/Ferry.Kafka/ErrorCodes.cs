namespace Ferry.Kafka;

/// <summary>Kafka protocol error codes Ferry returns (https://kafka.apache.org/protocol#protocol_error_codes).</summary>
public static class ErrorCodes
{
    public const short None = 0;
    public const short OffsetOutOfRange = 1;
    public const short CorruptMessage = 2;
    public const short UnknownTopicOrPartition = 3;
    public const short LeaderNotAvailable = 5;
    public const short NotLeaderOrFollower = 6;
    public const short RequestTimedOut = 7;
    public const short MessageTooLarge = 10;
    public const short InvalidTimestamp = 32;
    public const short OffsetMetadataTooLarge = 12;
    public const short CoordinatorLoadInProgress = 14;
    public const short CoordinatorNotAvailable = 15;
    public const short NotCoordinator = 16;
    public const short InvalidTopicException = 17;
    public const short RecordListTooLarge = 18;
    public const short IllegalGeneration = 22;
    public const short InconsistentGroupProtocol = 23;
    public const short InvalidGroupId = 24;
    public const short UnknownMemberId = 25;
    public const short InvalidSessionTimeout = 26;
    public const short RebalanceInProgress = 27;
    public const short InvalidCommitOffsetSize = 28;
    public const short TopicAuthorizationFailed = 29;
    public const short GroupAuthorizationFailed = 30;
    public const short UnsupportedSaslMechanism = 33;
    public const short ResourceNotFound = 91;
    public const short DuplicateResource = 92;
    public const short UnacceptableCredential = 93;
    public const short IllegalSaslState = 34;
    public const short UnsupportedVersion = 35;
    public const short TopicAlreadyExists = 36;
    public const short InvalidPartitions = 37;
    public const short InvalidReplicationFactor = 38;
    public const short InvalidReplicaAssignment = 39;
    public const short NoReassignmentInProgress = 85;
    public const short InvalidRequest = 42;
    public const short UnsupportedForMessageFormat = 43;
    public const short OutOfOrderSequenceNumber = 45;
    public const short DuplicateSequenceNumber = 46;
    public const short InvalidProducerEpoch = 47;
    public const short InvalidConfig = 40;
    public const short InvalidRecord = 87;
    public const short TransactionalIdAuthorizationFailed = 53;
    public const short SecurityDisabled = 54;
    public const short KafkaStorageError = 56;
    public const short ClusterAuthorizationFailed = 31;
    public const short UnknownProducerId = 59;
    public const short SaslAuthenticationFailed = 58;
    public const short GroupIdNotFound = 69;
    public const short NonEmptyGroup = 68;
    public const short NotEnoughReplicas = 19;
    public const short NotEnoughReplicasAfterAppend = 20;
    public const short FencedLeaderEpoch = 74;
    public const short UnknownLeaderEpoch = 75;
    public const short OffsetNotAvailable = 78;
    public const short UnknownServerError = -1;
    public const short MemberIdRequired = 79;
    public const short FencedInstanceId = 82;
    public const short GroupSubscribedToTopic = 86;
    public const short UnstableOffsetCommit = 88;
    public const short InvalidTxnState = 48;
    public const short InvalidProducerIdMapping = 49;
    public const short InvalidTransactionTimeout = 50;
    public const short ConcurrentTransactions = 51;
    public const short TransactionCoordinatorFenced = 52;
    public const short OperationNotAttempted = 55;
    public const short ProducerFenced = 90;
    public const short TransactionalIdNotFound = 105;
    public const short TransactionAbortable = 120;
    public const short UnknownTopicId = 100;
    public const short InconsistentTopicId = 103;
    public const short PolicyViolation = 44;

    /// <summary>The error a request gets when its leader epoch or this node's role does not match.</summary>
    public static short ForEpochCheck(Ferry.Broker.Topics.EpochCheck check) => check switch
    {
        Ferry.Broker.Topics.EpochCheck.Fenced => FencedLeaderEpoch,
        Ferry.Broker.Topics.EpochCheck.Unknown => UnknownLeaderEpoch,
        Ferry.Broker.Topics.EpochCheck.NotLeader => NotLeaderOrFollower,
        _ => None,
    };
}
