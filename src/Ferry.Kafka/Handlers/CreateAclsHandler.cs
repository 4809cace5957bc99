using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>CreateAcls: stores each valid binding durably (ALTER on the cluster needed), an error for each invalid one.</summary>
public sealed class CreateAclsHandler(Authorizer authorizer) : KafkaHandler<CreateAclsRequest>
{
    public override short ApiKey => ApiKeys.CreateAcls;
    public override short MinVersion => 0;
    public override short MaxVersion => 3;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, CreateAclsRequest request)
    {
        var response = new CreateAclsResponse();
        var refused = AclRequests.Refused(authorizer, context, AclOperation.Alter);
        var valid = new List<AclBinding>();
        var validResults = new List<CreateAclsResponse.AclCreationResult>();
        foreach (var creation in request.Creations)
        {
            var result = new CreateAclsResponse.AclCreationResult { ErrorMessage = null };
            response.Results.Add(result);
            if (refused is var (error, message))
            {
                (result.ErrorCode, result.ErrorMessage) = (error, message);
                continue;
            }
            var binding = new AclBinding((AclResourceType)creation.ResourceType, creation.ResourceName,
                context.ApiVersion == 0 ? AclPatternType.Literal : (AclPatternType)creation.ResourcePatternType,
                creation.Principal, creation.Host, (AclOperation)creation.Operation, (AclPermission)creation.PermissionType);
            if (binding.Invalid() is { } invalid)
            {
                result.ErrorCode = ErrorCodes.InvalidRequest;
                result.ErrorMessage = invalid;
                continue;
            }
            valid.Add(binding);
            validResults.Add(result);
        }
        if (valid.Count == 0) return response;
        try
        {
            await authorizer.Acls.AddAsync(valid).ConfigureAwait(false);
        }
        catch (SecurityChangeRefusedException notStored)
        {
            // A cluster whose quorum did not answer (or refused): none of them was stored.
            foreach (var result in validResults)
                (result.ErrorCode, result.ErrorMessage) = (notStored.Unavailable ? ErrorCodes.RequestTimedOut : ErrorCodes.InvalidRequest, notStored.Message);
        }
        return response;
    }
}
