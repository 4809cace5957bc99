using System.Text.Json.Serialization;

namespace Ferry.Admin;

/// <summary>Source-generated JSON for the admin surface: no reflection at start-up or per request.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HealthStatus))]
internal sealed partial class FerryJsonContext : JsonSerializerContext;
