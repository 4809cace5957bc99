using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Ferry.Kafka.Security;

/// <summary>
/// Kafka's default SSL principal: the client certificate's subject as RFC 2253 writes it (Java's
/// <c>X500Principal.getName()</c>: most specific part first, comma-separated without spaces, such as
/// <c>CN=alice,OU=Eng,O=Example</c>), so ACLs written for Kafka (<c>User:CN=alice,OU=Eng,O=Example</c>) match here.
/// </summary>
public static class CertificatePrincipal
{
    public static string Name(X509Certificate2 certificate)
    {
        var name = new StringBuilder();
        // Reversed: the encoded sequence runs from the root (C=, O=) to the most specific part, RFC 2253 the other way.
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames(reversed: true))
        {
            if (name.Length > 0) name.Append(',');
            string oid = rdn.GetSingleElementType().Value ?? "";
            name.Append(Keyword(oid)).Append('=');
            Escape(name, rdn.GetSingleElementValue() ?? "");
        }
        return name.ToString();
    }

    /// <summary>RFC 2253's keywords for its attribute types; any other type by its OID, as Java writes it.</summary>
    private static string Keyword(string oid) => oid switch
    {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => oid,
    };

    /// <summary>RFC 2253 section 2.4: a backslash before , + " \ &lt; &gt; ; and a leading # or space or trailing space.</summary>
    private static void Escape(StringBuilder name, string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c is ',' or '+' or '"' or '\\' or '<' or '>' or ';' || (i == 0 && c is '#' or ' ') || (i == value.Length - 1 && c == ' ')) name.Append('\\');
            name.Append(c);
        }
    }
}
