// Dev cross-check (not run in CI): indexes "id<TAB>contents" lines with Lucene 8's EnglishAnalyzer and
// BM25Similarity(0.9, 0.4), then answers "qid<TAB>text" queries the way Anserini's bag-of-words query
// generator does (one SHOULD clause per distinct term, boosted by its count), ties broken by id.
// Usage: java -cp <lucene jars> LuceneBm25Search.java docs.tsv queries.tsv k [k1 b] > run.tsv
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.*;
import org.apache.lucene.index.*;
import org.apache.lucene.search.*;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.util.BytesRef;

public class LuceneBm25Search {
  public static void main(String[] args) throws Exception {
    Analyzer analyzer = new EnglishAnalyzer();
    BM25Similarity sim = args.length > 4 ? new BM25Similarity(Float.parseFloat(args[3]), Float.parseFloat(args[4])) : new BM25Similarity(0.9f, 0.4f);
    ByteBuffersDirectory dir = new ByteBuffersDirectory();
    IndexWriterConfig cfg = new IndexWriterConfig(analyzer).setSimilarity(sim);
    try (IndexWriter w = new IndexWriter(dir, cfg)) {
      for (String line : Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8)) {
        int tab = line.indexOf('\t');
        String id = line.substring(0, tab), contents = line.substring(tab + 1);
        if (contents.trim().isEmpty()) continue;
        Document d = new Document();
        d.add(new StringField("id", id, Field.Store.YES));
        d.add(new SortedDocValuesField("id", new BytesRef(id)));
        d.add(new TextField("contents", contents, Field.Store.NO));
        w.addDocument(d);
      }
    }
    int k = Integer.parseInt(args[2]);
    IndexSearcher searcher = new IndexSearcher(DirectoryReader.open(dir));
    searcher.setSimilarity(sim);
    Sort sort = new Sort(SortField.FIELD_SCORE, new SortField("id", SortField.Type.STRING));
    PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
    for (String line : Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8)) {
      int tab = line.indexOf('\t');
      String qid = line.substring(0, tab), text = line.substring(tab + 1);
      LinkedHashMap<String, Integer> counts = new LinkedHashMap<>();
      try (TokenStream ts = analyzer.tokenStream("contents", text)) {
        CharTermAttribute t = ts.addAttribute(CharTermAttribute.class);
        ts.reset();
        while (ts.incrementToken()) counts.merge(t.toString(), 1, Integer::sum);
        ts.end();
      }
      BooleanQuery.Builder b = new BooleanQuery.Builder();
      for (Map.Entry<String, Integer> e : counts.entrySet()) {
        b.add(new BoostQuery(new TermQuery(new Term("contents", e.getKey())), (float) e.getValue()), BooleanClause.Occur.SHOULD);
      }
      TopDocs top = searcher.search(b.build(), k, sort, true);
      for (ScoreDoc sd : top.scoreDocs) {
        out.println(qid + "\t" + searcher.doc(sd.doc).get("id") + "\t" + sd.score);
      }
    }
    out.flush();
  }
}
