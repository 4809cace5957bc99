using System.Globalization;
using System.Net.Http.Json;
using Ferry.Cluster.Controller;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Raft;

/// <summary>
/// The inter-node HTTP requests to a voter's admin listener, authenticated by the cluster secret
/// (<see cref="SecretHeader"/>): controller requests forwarded to the quorum leader, and committed metadata fetched
/// by broker-only nodes.
/// </summary>
public sealed partial class ControllerClient(string secret, ILogger logger) : IDisposable
{
    private readonly byte[] _secret = System.Text.Encoding.UTF8.GetBytes(secret);

    /// <summary>The header a peer's forwarded request carries the shared secret in.</summary>
    public const string SecretHeader = "Ferry-Cluster-Secret";
    public const string ControllerPath = "/internal/cluster/controller";
    public const string MetadataPath = "/internal/cluster/metadata";

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Sends a request to the node at <paramref name="endPoint"/> (<c>http://HOST:PORT</c>); null when it did not answer.</summary>
    public async Task<ControllerReply?> ForwardAsync(string endPoint, ControllerRequest request, CancellationToken token)
    {
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, endPoint + ControllerPath)
            {
                Content = JsonContent.Create(request, ControllerJsonContext.Default.ControllerRequest),
            };
            message.Headers.Add(SecretHeader, secret);
            using var response = await _http.SendAsync(message, token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                ForwardFailed(logger, endPoint, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
                return null;
            }
            return await response.Content.ReadFromJsonAsync(ControllerJsonContext.Default.ControllerReply, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !token.IsCancellationRequested)
        {
            ForwardFailed(logger, endPoint, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Long-polls the voter at <paramref name="endPoint"/> for the committed metadata after <paramref name="after"/>:
    /// the reply, or why there is none (unreachable, refused the secret, not a voter).
    /// </summary>
    public async Task<(MetadataFeedReply? Reply, string? Failure)> FetchMetadataAsync(string endPoint, long after, CancellationToken token)
    {
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Get, $"{endPoint}{MetadataPath}?after={after.ToString(CultureInfo.InvariantCulture)}");
            message.Headers.Add(SecretHeader, secret);
            using var response = await _http.SendAsync(message, token).ConfigureAwait(false);
            if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized) return (null, "it refused this node's cluster secret");
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return (null, "it is not a voter of a Ferry cluster");
            if (!response.IsSuccessStatusCode) return (null, "it answered " + ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            return (await response.Content.ReadFromJsonAsync(MetadataFeedJsonContext.Default.MetadataFeedReply, token).ConfigureAwait(false), null);
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException or TaskCanceledException && !token.IsCancellationRequested)
        {
            return (null, e.Message);
        }
    }

    /// <summary>True when <paramref name="presented"/> is the cluster's shared secret (constant time).</summary>
    public bool IsSecret(string? presented) =>
        presented is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(presented), _secret);

    public void Dispose() => _http.Dispose();

    [LoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "Forwarding a controller request to {Leader} failed: {Reason}")]
    private static partial void ForwardFailed(ILogger logger, string leader, string reason);
}
