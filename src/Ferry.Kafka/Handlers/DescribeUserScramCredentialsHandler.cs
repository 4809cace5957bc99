using Ferry.Broker.Security;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>DescribeUserScramCredentials (KIP-554): each user's mechanisms and iteration counts, never the keys.</summary>
public sealed class DescribeUserScramCredentialsHandler(IUserStore users) : KafkaHandler<DescribeUserScramCredentialsRequest>
{
    public override short ApiKey => ApiKeys.DescribeUserScramCredentials;
    public override short MinVersion => 0;
    public override short MaxVersion => 0;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DescribeUserScramCredentialsRequest request)
    {
        if (!ScramCredentialAccess.Allowed(context.Session, users))
            return new(new DescribeUserScramCredentialsResponse { ErrorCode = ErrorCodes.ClusterAuthorizationFailed, ErrorMessage = "Only an administrator may describe credentials." });
        // Null or empty: every user.
        var names = request.Users is { Count: > 0 } asked ? asked.Select(u => u.Name).ToList() : [.. users.All.Select(u => u.Name)];
        var response = new DescribeUserScramCredentialsResponse { ErrorMessage = null };
        foreach (string name in names)
        {
            var result = new DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult { User = name, ErrorMessage = null };
            if (response.Results.Any(r => r.User == name))
            {
                result.ErrorCode = ErrorCodes.DuplicateResource;
                result.ErrorMessage = "Cannot describe the same user twice in one request.";
            }
            else if (users.Find(name) is { Credentials.Count: > 0 } user)
            {
                result.CredentialInfos = [.. user.Credentials.Select(c => new DescribeUserScramCredentialsResponse.CredentialInfo
                {
                    Mechanism = ScramCredentialAccess.ToKafka(c.Mechanism),
                    Iterations = c.Iterations,
                })];
            }
            else
            {
                result.ErrorCode = ErrorCodes.ResourceNotFound;
                result.ErrorMessage = "Attempt to describe a user credential that does not exist";
            }
            response.Results.Add(result);
        }
        return new(response);
    }
}
