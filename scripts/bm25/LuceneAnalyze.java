// Dev cross-check (not run in CI): prints Lucene's analysis of each input line.
// Usage: java -cp "/usr/share/java/lucene-core.jar:/usr/share/java/lucene-analyzers-common.jar" LuceneAnalyze.java english|standard < lines.txt
import java.io.*;
import java.nio.charset.StandardCharsets;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;

public class LuceneAnalyze {
  public static void main(String[] args) throws Exception {
    Analyzer analyzer = args[0].equals("english") ? new EnglishAnalyzer() : new StandardAnalyzer(CharArraySet.EMPTY_SET);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      StringBuilder sb = new StringBuilder();
      try (TokenStream ts = analyzer.tokenStream("contents", line)) {
        CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
        ts.reset();
        boolean first = true;
        while (ts.incrementToken()) {
          if (!first) sb.append(' ');
          sb.append(term.toString());
          first = false;
        }
        ts.end();
      }
      out.println(sb);
    }
    out.flush();
  }
}
