// Dev cross-check (not run in CI): LuceneBm25Search with Anserini's `-bm25 -rm3` on top. Indexes
// "id<TAB>contents" lines with Lucene 8's EnglishAnalyzer and BM25Similarity(0.9, 0.4), storing term
// vectors as Anserini does; per "qid<TAB>text" query runs the bag-of-words BM25 query, builds the RM3
// expanded query from the top fbDocs documents' term vectors (a port of Anserini's Rm3Reranker and
// FeatureVector, Apache-2.0, castorini/anserini src/main/java/io/anserini/{rerank/lib/Rm3Reranker,
// util/FeatureVector}.java, in Java's own float arithmetic), and runs it; ties broken by id.
// Usage: java -cp <lucene jars> LuceneRm3Search.java docs.tsv queries.tsv k [fbDocs fbTerms originalQueryWeight] > run.tsv
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

public class LuceneRm3Search {
  /** Anserini's FeatureVector, the parts RM3 uses. */
  static final class FeatureVector {
    Map<String, Float> features = new HashMap<>();
    void add(String f, float v) { features.put(f, features.getOrDefault(f, 0.0f) + v); }
    float get(String f) { return features.getOrDefault(f, 0.0f); }
    double l1() { double n = 0.0; for (String t : features.keySet()) n += Math.abs(features.getOrDefault(t, 0.0f)); return n; }
    FeatureVector scaleToUnitL1Norm() { double n = l1(); for (Map.Entry<String, Float> e : features.entrySet()) e.setValue((float) (e.getValue() / n)); return this; }
    FeatureVector pruneToSize(int k) {
      List<Map.Entry<String, Float>> pairs = new ArrayList<>(features.entrySet());
      pairs.sort((x, y) -> {
        if (x.getValue().floatValue() == y.getValue().floatValue()) return x.getKey().compareTo(y.getKey());
        return x.getValue() > y.getValue() ? -1 : 1;
      });
      Map<String, Float> pruned = new HashMap<>();
      for (Map.Entry<String, Float> p : pairs) { pruned.put(p.getKey(), p.getValue()); if (pruned.size() >= k) break; }
      features = pruned;
      return this;
    }
    static FeatureVector interpolate(FeatureVector x, FeatureVector y, float xWeight) {
      FeatureVector z = new FeatureVector();
      Set<String> vocab = new HashSet<>(x.features.keySet());
      vocab.addAll(y.features.keySet());
      for (String f : vocab) z.add(f, (float) (xWeight * x.get(f) + (1.0 - xWeight) * y.get(f)));
      return z;
    }
  }

  public static void main(String[] args) throws Exception {
    Analyzer analyzer = new EnglishAnalyzer();
    BM25Similarity sim = new BM25Similarity(0.9f, 0.4f);
    int k = Integer.parseInt(args[2]);
    int fbDocs = args.length > 3 ? Integer.parseInt(args[3]) : 10;
    int fbTerms = args.length > 4 ? Integer.parseInt(args[4]) : 10;
    float originalQueryWeight = args.length > 5 ? Float.parseFloat(args[5]) : 0.5f;
    ByteBuffersDirectory dir = new ByteBuffersDirectory();
    IndexWriterConfig cfg = new IndexWriterConfig(analyzer).setSimilarity(sim);
    FieldType contentsType = new FieldType(TextField.TYPE_NOT_STORED);
    contentsType.setStoreTermVectors(true);
    contentsType.freeze();
    try (IndexWriter w = new IndexWriter(dir, cfg)) {
      for (String line : Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8)) {
        int tab = line.indexOf('\t');
        String id = line.substring(0, tab), contents = line.substring(tab + 1);
        if (contents.trim().isEmpty()) continue;
        Document d = new Document();
        d.add(new StringField("id", id, Field.Store.YES));
        d.add(new SortedDocValuesField("id", new BytesRef(id)));
        d.add(new Field("contents", contents, contentsType));
        w.addDocument(d);
      }
    }
    IndexReader reader = DirectoryReader.open(dir);
    IndexSearcher searcher = new IndexSearcher(reader);
    searcher.setSimilarity(sim);
    Sort sort = new Sort(SortField.FIELD_SCORE, new SortField("id", SortField.Type.STRING));
    PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
    for (String line : Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8)) {
      int tab = line.indexOf('\t');
      String qid = line.substring(0, tab), text = line.substring(tab + 1);
      List<String> tokens = new ArrayList<>();
      try (TokenStream ts = analyzer.tokenStream("contents", text)) {
        CharTermAttribute t = ts.addAttribute(CharTermAttribute.class);
        ts.reset();
        while (ts.incrementToken()) tokens.add(t.toString());
        ts.end();
      }
      LinkedHashMap<String, Integer> counts = new LinkedHashMap<>();
      for (String t : tokens) counts.merge(t, 1, Integer::sum);
      BooleanQuery.Builder b = new BooleanQuery.Builder();
      for (Map.Entry<String, Integer> e : counts.entrySet()) {
        b.add(new BoostQuery(new TermQuery(new Term("contents", e.getKey())), (float) e.getValue()), BooleanClause.Occur.SHOULD);
      }
      // Anserini's feedback documents are the top min(hits, fbDocs) of the first run; searching at
      // least fbDocs deep keeps them fbDocs whatever k is, as Winnow does (its top ranks never depend on k).
      TopDocs first = searcher.search(b.build(), Math.max(k, fbDocs), sort, true);

      // Rm3Reranker.rerank / estimateRelevanceModel / createdFeatureVector.
      FeatureVector qfv = new FeatureVector();
      for (String t : tokens) qfv.add(t, 1.0f);
      qfv.scaleToUnitL1Norm();
      int numdocs = Math.min(first.scoreDocs.length, fbDocs);
      int numDocs = reader.numDocs();
      List<FeatureVector> docvectors = new ArrayList<>();
      List<Float> docScores = new ArrayList<>();
      Set<String> vocab = new HashSet<>();
      for (int i = 0; i < numdocs; i++) {
        FeatureVector dv = new FeatureVector();
        Terms terms = reader.getTermVector(first.scoreDocs[i].doc, "contents");
        if (terms != null) {
          TermsEnum te = terms.iterator();
          BytesRef br;
          while ((br = te.next()) != null) {
            String term = br.utf8ToString();
            if (term.length() < 2 || term.length() > 20) continue;
            if (!term.matches("[a-z0-9]+")) continue;
            int df = reader.docFreq(new Term("contents", term));
            float ratio = (float) df / numDocs;
            if (ratio > 0.1f) continue;
            dv.add(term, (float) te.totalTermFreq());
          }
        }
        dv.pruneToSize(fbTerms);
        vocab.addAll(dv.features.keySet());
        docvectors.add(dv);
        docScores.add(first.scoreDocs[i].score);
      }
      float[] norms = new float[docvectors.size()];
      for (int i = 0; i < docvectors.size(); i++) norms[i] = (float) docvectors.get(i).l1();
      FeatureVector rm = new FeatureVector();
      for (String term : vocab) {
        float fbWeight = 0.0f;
        for (int i = 0; i < docvectors.size(); i++) {
          if (norms[i] > 0.001f) fbWeight += (docvectors.get(i).get(term) / norms[i]) * docScores.get(i);
        }
        rm.add(term, fbWeight);
      }
      rm.pruneToSize(fbTerms);
      rm.scaleToUnitL1Norm();
      rm = FeatureVector.interpolate(qfv, rm, originalQueryWeight);
      BooleanQuery.Builder fq = new BooleanQuery.Builder();
      for (Map.Entry<String, Float> e : rm.features.entrySet()) {
        fq.add(new BoostQuery(new TermQuery(new Term("contents", e.getKey())), e.getValue()), BooleanClause.Occur.SHOULD);
      }
      TopDocs top = searcher.search(fq.build(), k, sort, true);
      for (ScoreDoc sd : top.scoreDocs) {
        out.println(qid + "\t" + searcher.doc(sd.doc).get("id") + "\t" + sd.score);
      }
    }
    out.flush();
  }
}
