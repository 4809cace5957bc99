using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ferry.Admin;

/// <summary>Source-generated JSON for the admin surface: no reflection at start-up or per request.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(HealthStatus))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(Overview))]
[JsonSerializable(typeof(List<TopicSummary>))]
[JsonSerializable(typeof(TopicDetail))]
[JsonSerializable(typeof(ClusterStatus))]
[JsonSerializable(typeof(CreateTopicRequest))]
[JsonSerializable(typeof(AlterTopicRequest))]
[JsonSerializable(typeof(ProduceRequest))]
[JsonSerializable(typeof(ProduceResponse))]
[JsonSerializable(typeof(RecordsResponse))]
[JsonSerializable(typeof(List<QueueInfo>))]
[JsonSerializable(typeof(QueueInfo))]
[JsonSerializable(typeof(DeclareQueueRequest))]
[JsonSerializable(typeof(QueueOperationResult))]
[JsonSerializable(typeof(List<ExchangeInfo>))]
[JsonSerializable(typeof(List<BindingInfo>))]
[JsonSerializable(typeof(List<ConnectionInfo>))]
[JsonSerializable(typeof(List<GroupSummary>))]
[JsonSerializable(typeof(GroupDetail))]
[JsonSerializable(typeof(ResetOffsetsRequest))]
[JsonSerializable(typeof(ResetOffsetsResponse))]
[JsonSerializable(typeof(CliMessage))]
[JsonSerializable(typeof(List<UserInfo>))]
[JsonSerializable(typeof(UserInfo))]
[JsonSerializable(typeof(PutUserRequest))]
[JsonSerializable(typeof(List<AclInfo>))]
[JsonSerializable(typeof(AclInfo))]
[JsonSerializable(typeof(List<VhostInfo>))]
[JsonSerializable(typeof(VhostInfo))]
[JsonSerializable(typeof(List<PermissionInfo>))]
[JsonSerializable(typeof(PermissionInfo))]
[JsonSerializable(typeof(ConsumedRecord))]
internal sealed partial class FerryJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context the admin API and the client use: as <see cref="Default"/>, but without escaping quotes and
    /// non-ASCII text (names are shown to people; the responses are JSON, never embedded in HTML).
    /// </summary>
    public static FerryJsonContext Api { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
