using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Ferry.Admin;

namespace Ferry.Cli;

/// <summary>The broker answered with an error: its message and status code.</summary>
internal sealed class AdminApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>Nothing usable answered at the server address.</summary>
internal sealed class BrokerUnreachableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The client side of the admin HTTP API, used by every <c>ferry</c> client command. It maps transport
/// failures to <see cref="BrokerUnreachableException"/> and error bodies to <see cref="AdminApiException"/>,
/// so that commands only handle the happy path and exit codes are decided in one place.
/// </summary>
internal sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminClient(Uri server, (string User, string Password)? credentials = null)
    {
        Server = server;
        _http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("ferry-cli", ThisAssembly.Version));
        if (credentials is var (user, password))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(user + ":" + password)));
        }
    }

    public Uri Server { get; }

    public Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, type, cancellationToken);

    public Task<TResponse> SendAsync<TRequest, TResponse>(HttpMethod method, string path, TRequest body, JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken) =>
        SendAsync(method, path, JsonContent(body, requestType), responseType, cancellationToken);

    /// <summary>A request without a body (DELETE, a POST action) whose answer has one.</summary>
    public Task<T> SendAsync<T>(HttpMethod method, string path, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        SendAsync(method, path, null, type, cancellationToken);

    /// <summary>A request whose answer has no body worth reading (204 No Content).</summary>
    public async Task SendAsync(HttpMethod method, string path, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(new HttpRequestMessage(method, path), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A request with a body whose answer has none (204 No Content, 201 without a body).</summary>
    public async Task SendAsync<TRequest>(HttpMethod method, string path, TRequest body, JsonTypeInfo<TRequest> requestType, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent(body, requestType) };
        using var response = await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return await JsonSerializer.DeserializeAsync(stream, type, cancellationToken).ConfigureAwait(false)
                ?? throw new BrokerUnreachableException($"{Server} answered with an empty body; is it a Ferry admin port?");
        }
        catch (JsonException ex)
        {
            throw new BrokerUnreachableException($"{Server} did not answer with Ferry's JSON; is it a Ferry admin port?", ex);
        }
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            string reason = ex.InnerException is SocketException socket ? socket.Message : ex.Message;
            throw new BrokerUnreachableException($"cannot reach the broker at {Server}: {reason}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BrokerUnreachableException($"cannot reach the broker at {Server}: no answer within {_http.Timeout.TotalSeconds:0} s", ex);
        }
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            ErrorResponse? error = null;
            try
            {
                error = await response.Content.ReadFromJsonAsync(FerryJsonContext.Api.ErrorResponse, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException)
            {
                // Not ours: report the status alone.
            }
            if (error is null && response.StatusCode == HttpStatusCode.NotFound)
                throw new BrokerUnreachableException($"{Server} is not a Ferry admin port (404 for {request.RequestUri}).");
            throw new AdminApiException((int)response.StatusCode, error?.Error ?? $"the broker answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }

    private static ByteArrayContent JsonContent<T>(T body, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    public static string Escape(string segment) => Uri.EscapeDataString(segment);

    public void Dispose() => _http.Dispose();
}
