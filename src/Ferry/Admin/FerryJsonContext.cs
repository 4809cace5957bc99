using System.Text.Json.Serialization;

namespace Ferry.Admin;

/// <summary>Source-generated JSON for the admin surface: no reflection at start-up or per request.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HealthStatus))]
[JsonSerializable(typeof(GroupView))]
[JsonSerializable(typeof(List<GroupView>))]
internal sealed partial class FerryJsonContext : JsonSerializerContext;
