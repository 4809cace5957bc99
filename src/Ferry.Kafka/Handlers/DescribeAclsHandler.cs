using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// DescribeAcls: the ACLs a filter matches, grouped by resource pattern. Needs DESCRIBE on the cluster; without
/// authorization configured Kafka has no ACLs to show and answers SECURITY_DISABLED, and so does Ferry.
/// </summary>
public sealed class DescribeAclsHandler(Authorizer authorizer) : KafkaHandler<DescribeAclsRequest>
{
    public override short ApiKey => ApiKeys.DescribeAcls;
    public override short MinVersion => 0;
    public override short MaxVersion => 3;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DescribeAclsRequest request)
    {
        var response = new DescribeAclsResponse { ErrorMessage = null };
        var filter = AclRequests.Filter(context, request.ResourceTypeFilter, request.ResourceNameFilter, request.PatternTypeFilter,
            request.PrincipalFilter, request.HostFilter, request.Operation, request.PermissionType);
        if (AclRequests.Refused(authorizer, context, AclOperation.Describe) is var (error, message)) return Fail(response, error, message);
        if (filter.Invalid() is { } invalid) return Fail(response, ErrorCodes.InvalidRequest, invalid);

        foreach (var group in authorizer.Acls.All.Where(filter.Matches).GroupBy(a => (a.ResourceType, a.ResourceName, a.PatternType)))
        {
            response.Resources.Add(new DescribeAclsResponse.DescribeAclsResource
            {
                ResourceType = (sbyte)group.Key.ResourceType,
                ResourceName = group.Key.ResourceName,
                PatternType = (sbyte)group.Key.PatternType,
                Acls = [.. group.Select(a => new DescribeAclsResponse.AclDescription
                {
                    Principal = a.Principal, Host = a.Host, Operation = (sbyte)a.Operation, PermissionType = (sbyte)a.Permission,
                })],
            });
        }
        return new(response);
    }

    private static ValueTask<IKafkaMessage?> Fail(DescribeAclsResponse response, short error, string message)
    {
        response.ErrorCode = error;
        response.ErrorMessage = message;
        return new(response);
    }
}
