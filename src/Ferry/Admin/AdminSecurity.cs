using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Ferry.Broker.Security;

namespace Ferry.Admin;

/// <summary>
/// What every admin HTTP request passes before an endpoint sees it.
/// <list type="bullet">
/// <item>The Host header names this server: an IP address, <c>localhost</c>, or a name in <c>Admin:AllowedHosts</c>.
/// A web page that rebinds its own DNS name to 127.0.0.1 sends its name, and is refused.</item>
/// <item>A request that changes state (POST, PUT, PATCH, DELETE) comes from no web page of another origin: its
/// <c>Origin</c>, if any, is this server, and a body is JSON. A browser sends neither a cross-origin JSON body nor
/// a DELETE without asking first (CORS preflight, which Ferry never grants), and a form or text/plain post is refused.</item>
/// <item>Once any user exists, <c>/api/</c> asks for HTTP Basic: <c>administrator</c> may do everything,
/// <c>monitoring</c> and <c>management</c> may read. Health probes and <c>/metrics</c> stay open.</item>
/// </list>
/// </summary>
internal static partial class AdminSecurity
{
    public static IApplicationBuilder UseAdminSecurity(this IApplicationBuilder app, IReadOnlyList<string> allowedHosts)
    {
        var users = app.ApplicationServices.GetRequiredService<IUserStore>();
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Ferry.Admin.Security");
        return app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (!HostAllowed(request.Host, allowedHosts))
            {
                await Refuse(context, StatusCodes.Status403Forbidden, "The Host header does not name this server (Admin:AllowedHosts).").ConfigureAwait(false);
                return;
            }
            bool mutating = !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method));
            if (mutating && CrossSite(request) is { } reason)
            {
                string path = request.Path.Value ?? "";
                CrossSiteRefused(logger, request.Method, path, reason);
                await Refuse(context, StatusCodes.Status403Forbidden, reason).ConfigureAwait(false);
                return;
            }
            if (users.HasUsers && request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
            {
                var user = Authenticate(request, users);
                if (user is null)
                {
                    context.Response.Headers.WWWAuthenticate = "Basic realm=\"Ferry\", charset=\"UTF-8\"";
                    await Refuse(context, StatusCodes.Status401Unauthorized, "Authentication required: HTTP Basic with a Ferry user.").ConfigureAwait(false);
                    return;
                }
                if (mutating ? !user.IsAdministrator : !user.MayMonitor)
                {
                    await Refuse(context, StatusCodes.Status403Forbidden,
                        mutating ? "Only a user tagged administrator may change state." : "The user needs the monitoring, management or administrator tag.").ConfigureAwait(false);
                    return;
                }
            }
            await next(context).ConfigureAwait(false);
        });
    }

    private static bool HostAllowed(HostString host, IReadOnlyList<string> allowed)
    {
        if (!host.HasValue) return true; // HTTP/1.0: no Host, so no name to rebind
        string name = host.Host;
        return IPAddress.TryParse(name.Trim('[', ']'), out _)
            || string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase)
            || allowed.Contains(name, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Why a state-changing request looks like it came from another site's page; null if it does not.</summary>
    private static string? CrossSite(HttpRequest request)
    {
        string? origin = request.Headers.Origin;
        if (!string.IsNullOrEmpty(origin))
        {
            string self = request.Scheme + "://" + request.Host.Value;
            if (!string.Equals(origin, self, StringComparison.OrdinalIgnoreCase)) return $"Cross-origin request from {origin} refused.";
        }
        string? fetchSite = request.Headers["Sec-Fetch-Site"];
        if (fetchSite is "cross-site" or "same-site") return "Cross-site request refused.";
        bool hasBody = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0 || request.ContentType is not null;
        if (hasBody && !IsJson(request.ContentType)) return "A request body must be Content-Type: application/json.";
        return null;
    }

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (string.Equals(media.MediaType, "application/json", StringComparison.OrdinalIgnoreCase)
            || (media.MediaType?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) ?? false));

    private static User? Authenticate(HttpRequest request, IUserStore users)
    {
        string? header = request.Headers.Authorization;
        if (header is null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
        Span<byte> decoded = stackalloc byte[512];
        if (!Convert.TryFromBase64String(header[6..].Trim(), decoded, out int length)) return null;
        string pair;
        try
        {
            pair = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(decoded[..length]);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        int colon = pair.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0) return null;
        var user = users.Find(pair[..colon]);
        return user is not null && user.PasswordMatches(pair[(colon + 1)..]) ? user : null;
    }

    private static Task Refuse(HttpContext context, int status, string message) => AdminResults.Error(status, message).ExecuteAsync(context);

    [LoggerMessage(EventId = 8101, Level = LogLevel.Information, Message = "Admin request {Method} {Path} refused: {Reason}")]
    private static partial void CrossSiteRefused(ILogger logger, string method, string path, string reason);
}
