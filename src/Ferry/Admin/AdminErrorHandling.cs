using Ferry.Broker.Security;

namespace Ferry.Admin;

/// <summary>Turns an unexpected exception in an admin request into the API's JSON error (500), logged as our bug.</summary>
internal static partial class AdminErrorHandling
{
    public static IApplicationBuilder UseAdminErrors(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Ferry.Admin");
        return app.Use(async (context, next) =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (SecurityChangeRefusedException refused) when (!context.Response.HasStarted)
            {
                // The metadata quorum's answer, not our bug: 503 when no quorum answered (try again), 400 when it refused.
                context.Response.Clear();
                await AdminResults.Error(refused.Unavailable ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status400BadRequest, refused.Message)
                    .ExecuteAsync(context).ConfigureAwait(false);
            }
            catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                RequestFailed(logger, context.Request.Method, context.Request.Path, ex);
                context.Response.Clear();
                await AdminResults.Error(StatusCodes.Status500InternalServerError, "Internal error: " + ex.Message)
                    .ExecuteAsync(context).ConfigureAwait(false);
            }
        });
    }

    [LoggerMessage(EventId = 8001, Level = LogLevel.Error, Message = "Admin request {Method} {Path} failed")]
    private static partial void RequestFailed(ILogger logger, string method, string path, Exception exception);
}
