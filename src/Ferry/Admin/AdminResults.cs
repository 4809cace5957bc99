using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Ferry.Admin;

/// <summary>Answers of the admin API: JSON bodies, and errors as <c>{ "error": "...", "status": N }</c>.</summary>
internal static class AdminResults
{
    public static IResult Error(int status, string message) =>
        Results.Json(new ErrorResponse(message, status), FerryJsonContext.Api.ErrorResponse, statusCode: status);

    public static IResult NotFound(string message) => Error(StatusCodes.Status404NotFound, message);

    public static IResult BadRequest(string message) => Error(StatusCodes.Status400BadRequest, message);

    public static IResult Conflict(string message) => Error(StatusCodes.Status409Conflict, message);

    public static IResult Json<T>(T value, JsonTypeInfo<T> type, int status = StatusCodes.Status200OK) =>
        Results.Json(value, type, statusCode: status);

    /// <summary>
    /// Reads a JSON body with the source-generated context. Malformed or missing bodies become our 400
    /// rather than the framework's empty one, so that every error a client sees has the same shape.
    /// </summary>
    public static async Task<(T? Value, IResult? Error)> ReadBodyAsync<T>(HttpRequest request, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync(request.Body, type, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return value is null ? (null, BadRequest("A JSON body is required.")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, BadRequest("Invalid JSON body: " + ex.Message));
        }
    }
}
