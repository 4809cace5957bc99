using System.Globalization;
using System.Net;

namespace Ferry.Configuration;

/// <summary>Parses the HOST:PORT listener settings: an IPv4 or bracketed IPv6 address, or <c>localhost</c>.</summary>
public static class EndPointParser
{
    public static IPEndPoint Parse(string value, string setting)
    {
        if (TryParse(value, out var endPoint)) return endPoint;
        throw new FormatException($"{setting}: '{value}' is not HOST:PORT (an IP address or localhost, and a port 0-65535).");
    }

    public static bool TryParse(string value, out IPEndPoint endPoint)
    {
        endPoint = null!;
        int colon = value.LastIndexOf(':');
        if (colon <= 0) return false;
        string host = value[..colon].Trim('[', ']');
        if (!int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
            return false;
        IPAddress? address = host switch
        {
            "localhost" => IPAddress.Loopback,
            "*" => IPAddress.Any,
            _ => IPAddress.TryParse(host, out var parsed) ? parsed : null,
        };
        if (address is null) return false;
        endPoint = new IPEndPoint(address, port);
        return true;
    }
}
