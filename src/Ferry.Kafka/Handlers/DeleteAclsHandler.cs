using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>DeleteAcls: removes what each filter matches (ALTER on the cluster needed) and lists what each removed.</summary>
public sealed class DeleteAclsHandler(Authorizer authorizer) : KafkaHandler<DeleteAclsRequest>
{
    public override short ApiKey => ApiKeys.DeleteAcls;
    public override short MinVersion => 0;
    public override short MaxVersion => 3;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DeleteAclsRequest request)
    {
        var response = new DeleteAclsResponse();
        var refused = AclRequests.Refused(authorizer, context, AclOperation.Alter);
        var filters = new List<AclFilter>();
        var results = new List<DeleteAclsResponse.DeleteAclsFilterResult>();
        foreach (var f in request.Filters)
        {
            var result = new DeleteAclsResponse.DeleteAclsFilterResult { ErrorMessage = null };
            response.FilterResults.Add(result);
            var filter = AclRequests.Filter(context, f.ResourceTypeFilter, f.ResourceNameFilter, f.PatternTypeFilter, f.PrincipalFilter, f.HostFilter, f.Operation, f.PermissionType);
            if (refused is var (error, message))
            {
                (result.ErrorCode, result.ErrorMessage) = (error, message);
            }
            else if (filter.Invalid() is { } invalid)
            {
                result.ErrorCode = ErrorCodes.InvalidRequest;
                result.ErrorMessage = invalid;
            }
            else
            {
                filters.Add(filter);
                results.Add(result);
            }
        }
        if (filters.Count == 0) return response;
        IReadOnlyList<IReadOnlyList<AclBinding>> removed;
        try
        {
            removed = await authorizer.Acls.RemoveAsync(filters).ConfigureAwait(false);
        }
        catch (SecurityChangeRefusedException notStored)
        {
            foreach (var result in results)
                (result.ErrorCode, result.ErrorMessage) = (notStored.Unavailable ? ErrorCodes.RequestTimedOut : ErrorCodes.InvalidRequest, notStored.Message);
            return response;
        }
        for (int i = 0; i < results.Count; i++)
        {
            results[i].MatchingAcls = [.. removed[i].Select(a => new DeleteAclsResponse.DeleteAclsMatchingAcl
            {
                ErrorMessage = null,
                ResourceType = (sbyte)a.ResourceType, ResourceName = a.ResourceName, PatternType = (sbyte)a.PatternType,
                Principal = a.Principal, Host = a.Host, Operation = (sbyte)a.Operation, PermissionType = (sbyte)a.Permission,
            })];
        }
        return response;
    }
}
