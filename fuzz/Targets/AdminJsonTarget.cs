using System.Text.Json;
using Ferry.Admin;

namespace Ferry.Fuzz.Targets;

/// <summary>
/// The JSON bodies the admin API binds (AdminResults.ReadBodyAsync with the source-generated context): the first
/// byte picks the model, the rest is the body, read from a stream as Kestrel hands it over.
/// </summary>
/// <remarks>JsonException is the API's 400 "Invalid JSON body".</remarks>
internal sealed class AdminJsonTarget : IFuzzTarget
{
    public string Name => "admin-json";

    public long AllocationAllowance => 64 * 1024;

    /// <summary>The request models, in the order of the selector byte.</summary>
    public static readonly string[] Models =
        ["CreateTopicRequest", "AlterTopicRequest", "ProduceRequest", "DeclareQueueRequest", "ResetOffsetsRequest", "PutUserRequest"];

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty) return;
        using var body = new MemoryStream(input[1..].ToArray(), writable: false);
        var json = FerryJsonContext.Api;
        try
        {
            switch (input[0] % Models.Length)
            {
                case 0: JsonSerializer.Deserialize(body, json.CreateTopicRequest); break;
                case 1: JsonSerializer.Deserialize(body, json.AlterTopicRequest); break;
                case 2: JsonSerializer.Deserialize(body, json.ProduceRequest); break;
                case 3: JsonSerializer.Deserialize(body, json.DeclareQueueRequest); break;
                case 4: JsonSerializer.Deserialize(body, json.ResetOffsetsRequest); break;
                default: JsonSerializer.Deserialize(body, json.PutUserRequest); break;
            }
        }
        catch (JsonException)
        {
            // 400 Invalid JSON body.
        }
    }
}
