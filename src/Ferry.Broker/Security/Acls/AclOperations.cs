namespace Ferry.Broker.Security.Acls;

/// <summary>Which operations apply to which resource type, and which allowed operations imply others (Kafka's AclEntry).</summary>
public static class AclOperations
{
    private static readonly AclOperation[] TopicOps =
        [AclOperation.Read, AclOperation.Write, AclOperation.Create, AclOperation.Describe, AclOperation.Delete, AclOperation.Alter, AclOperation.DescribeConfigs, AclOperation.AlterConfigs];
    private static readonly AclOperation[] GroupOps = [AclOperation.Read, AclOperation.Describe, AclOperation.Delete];
    private static readonly AclOperation[] ClusterOps =
        [AclOperation.Create, AclOperation.ClusterAction, AclOperation.DescribeConfigs, AclOperation.AlterConfigs, AclOperation.IdempotentWrite, AclOperation.Alter, AclOperation.Describe];
    private static readonly AclOperation[] TransactionalIdOps = [AclOperation.Describe, AclOperation.Write];
    private static readonly AclOperation[] DelegationTokenOps = [AclOperation.Describe];
    private static readonly AclOperation[] UserOps = [AclOperation.CreateTokens, AclOperation.DescribeTokens];

    public static ReadOnlySpan<AclOperation> Supported(AclResourceType type) => type switch
    {
        AclResourceType.Topic => TopicOps,
        AclResourceType.Group => GroupOps,
        AclResourceType.Cluster => ClusterOps,
        AclResourceType.TransactionalId => TransactionalIdOps,
        AclResourceType.DelegationToken => DelegationTokenOps,
        AclResourceType.User => UserOps,
        _ => [],
    };

    /// <summary>The authorized-operations bit field of every operation that applies to <paramref name="type"/>.</summary>
    public static int AllBits(AclResourceType type)
    {
        int bits = 0;
        foreach (var op in Supported(type)) bits |= 1 << (int)op;
        return bits;
    }

    /// <summary>
    /// Whether an ALLOW for <paramref name="granted"/> also allows <paramref name="wanted"/>: ALL allows everything,
    /// READ, WRITE, DELETE and ALTER each allow DESCRIBE, ALTER_CONFIGS allows DESCRIBE_CONFIGS.
    /// </summary>
    public static bool AllowImplies(AclOperation granted, AclOperation wanted) =>
        granted == wanted || granted == AclOperation.All
        || (wanted == AclOperation.Describe && granted is AclOperation.Read or AclOperation.Write or AclOperation.Delete or AclOperation.Alter)
        || (wanted == AclOperation.DescribeConfigs && granted == AclOperation.AlterConfigs);
}
