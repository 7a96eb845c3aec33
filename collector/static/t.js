/*! privacy analytics tracker, MIT. Options: data-site data-api data-hash data-heatmap data-forms data-local data-exclude data-consent(granted|denied) data-policy */
!function(w,d,n,L,u){try{
// Never throw into the host page: every entry point goes through W.
var W=f=>function(){try{return f.apply(0,arguments)}catch(x){}},
s=d.currentScript,A=k=>s.getAttribute('data-'+k),
on=(t,e,f)=>t.addEventListener(e,W(f),{'capture':!0,'passive':!0}),
now=Date.now,R=(k,v)=>{try{return v!=u?v?w[k].setItem('pa_'+(k<'m'?'vid':'sid'),v):w[k].removeItem('pa_'+(k<'m'?'vid':'sid')):w[k].getItem('pa_'+(k<'m'?'vid':'sid'))}catch(x){}},
rid=k=>Array.from(crypto.getRandomValues(new Uint8Array(k)),b=>(b%36).toString(36)).join(''),
site=A('site')||L.hostname,api=A('api')||new URL(s.src).origin+'/api/event',
X=(A('exclude')||'').split(',').filter(x=>x=x.trim()).map(x=>RegExp('^'+x.trim().replace(/[.+?^${}()|[\]\\]/g,'\\$&').replace(/\*/g,'.*'))),
// localhost and non-http pages send nothing unless data-local (file: URLs never pass the schema).
off=!/^http/.test(L.protocol)||A('local')==u&&/^(localhost|127\.|\[::1\])/.test(L.hostname),
Q=[],T,K,U,M=0,Vs=d.hidden?0:now(),Tot=0,Ne=0,VT={},Z,Fm=new Map,O={},
G=n.globalPrivacyControl,D=n.doNotTrack=='1',dc=A('consent'),V=R('localStorage'),C={};
/^[\w-]{16,64}$/.test(V)||(V=u);
// A stored id means the visitor granted consent; GPC/DNT block the site's default grant.
V?C.analytics=!0:G||dc=='denied'?C.analytics=!1:D||dc!='granted'||R('localStorage',V=rid(24),C.analytics=!0);
G&&(C.gpc=!0);D&&(C.dnt=!0);
var F=()=>{clearTimeout(T);T=0;for(var b=[],l=0,j;Q.length||b.length;)
 (j=Q.length&&JSON.stringify(Q[0]))&&(!b.length||b.length<100&&l+j.length<2e4)?(b.push(j),l+=j.length,Q.shift()):
 (j='['+b+']',b=[],l=0,W(()=>n.sendBeacon(api,j)||fetch(api,{'method':'POST','body':j,'keepalive':!0,'mode':'no-cors'}).catch(W))())},
hs=h=>/^[a-z\d.-]*(:\d{1,5})?$/i.test(h)?h.slice(0,253):u,
E=(t,o)=>{off||X.some(r=>r.test(L.pathname))||Q.push(Object.assign({site:site,type:t,url:L.href.slice(0,2e3),
 referrer:/^https?:/.test(d.referrer)?d.referrer.slice(0,2e3):u,ts:now(),event_id:crypto.randomUUID&&crypto.randomUUID(),
 consent:Object.assign({},C),vid:V,sid:V&&(R('sessionStorage')||R('sessionStorage',rid(16))||R('sessionStorage'))},o))>99?F():T||(T=setTimeout(F,1e3))},
sc=()=>{M=Math.max(M,Math.min(100,Math.round((scrollY+innerHeight)/d.documentElement.scrollHeight*100)))||0},
// Engagement: visible time since the last report, per page.
rep=(t,m)=>{t=now();m=Vs?t-Vs:0;Vs=Vs&&t;m>0&&(Tot+=m,E('engagement',{url:U,engaged_ms:Math.min(m,864e5),scroll:M}))},
pv=()=>{var k=L.pathname+(A('hash')!=u?L.hash:'');k!=K&&(U&&rep(),K=k,U=L.href.slice(0,2e3),M=0,sc(),E('pageview'))},
vi=(k,v)=>E('vital',{name:k,value:Math.min(+v.toFixed(k=='CLS'?4:0),36e5)}),
vit=()=>{if(!Z)for(var k in Z=1,VT)vi(k,VT[k])},
ob=(t,f)=>W(()=>new PerformanceObserver(l=>Z||l.getEntries().forEach(W(f))).observe({'type':t,'buffered':!0,'durationThreshold':16}))(),
cp=(o,r,i,k,v,t)=>{r={};i=0;for(k in o)v=o[k],t=typeof v,k&&k.length<65&&i<30&&(t=='string'||t=='boolean'||t=='number'&&isFinite(v))&&(r[k]=t=='string'?v.slice(0,256):v,i++);return i?r:u},
tr=(m,p)=>m&&E('custom',{name:(''+m).slice(0,100),props:cp(p)}),
err=(m,f)=>m&&Ne++<9&&E('error',{message:(''+m).slice(0,200),source:hs((f||'').split('/')[2]||'')}),
fm=(t,a,f,k,x)=>{f=t.form||t;if(f.tagName=='FORM'){k=(f.getAttribute('id')||f.getAttribute('name')||'').slice(0,100);x=f==t?u:(t.name||t.id||'').slice(0,100)||u;
 a=='submit'?Fm.delete(f):Fm.set(f,[k,x]);O[a+k+x]||E('form',{form:k,field:x,action:a},O[a+k+x]=1)}},
pa=w.pa,q=pa&&pa.q||[];
if(pa&&pa.track)return;
pa=w.pa=W(function(m){pa[m].apply(0,[].slice.call(arguments,1))});
pa.track=W(tr);
pa.expose=W((x,v)=>x&&E('exposure',{experiment:(''+x).slice(0,100),variant:(v==u?'':''+v).slice(0,100)}));
pa.consent=W((c,p)=>{var a=c&&c.analytics;if(a===!!a&&a!==C.analytics){a&&R('localStorage',V=rid(24));C.analytics=a;
 E('consent',{action:a?'grant':'withdraw',categories:['analytics'],policy_version:(p=p||A('policy'))?(''+p).slice(0,50):u});
 F();a||(R('localStorage',0),R('sessionStorage',0),V=u)}});
W(()=>{
 var h=history,nt=performance.getEntriesByType('navigation')[0];
 ['pushState','replaceState'].forEach(k=>{var o=h[k];h[k]=function(){var r=o.apply(this,arguments);W(pv)();return r}});
 on(w,'popstate',pv);A('hash')!=u&&on(w,'hashchange',pv);
 on(w,'scroll',sc);
 on(d,'click',e=>{var t=e.target,c=s=>t.closest&&t.closest(s),a=c('a[href]'),g=c('[data-event]'),p={},x,h=d.documentElement,f=v=>Math.max(0,Math.min(1,Math.round(v*1e4)/1e4))||0;
  if(g){for(x of g.attributes)x.name.indexOf('data-event-')||(p[x.name.slice(11)]=x.value);tr(g.getAttribute('data-event'),p)}
  if(a&&/^http/.test(a.protocol)){x=(a.pathname.match(/\.(\w+)$/)||[])[1];
   x&&/^(pdf|zip|gz|tgz|rar|7z|dmg|exe|msi|pkg|deb|apk|iso|csv|xlsx?|docx?|pptx?|txt|mp[34]|mov|wav|epub)$/i.test(x)||a.hasAttribute('download')?
   E('click',{kind:'download',link:hs(a.host),file:x&&/^[a-z\d]{1,10}$/i.test(x)?x:u}):a.host!=L.host&&E('click',{kind:'outbound',link:hs(a.host)})}
  A('heatmap')!=u&&E('click',{kind:'heatmap',x:f(e.pageX/h.scrollWidth),y:f(e.pageY/h.scrollHeight),tag:/^[a-z][a-z\d-]{0,31}$/.test(x=(t.tagName||'').toLowerCase())?x:u})});
 on(w,'error',e=>err(e.message,e.filename));
 on(w,'unhandledrejection',e=>err(e.reason&&e.reason.message||e.reason,''));
 A('forms')!=u&&['focusin','change','submit'].forEach(k=>on(d,k,e=>fm(e.target,k<'d'?'change':k<'g'?'focus':k)));
 on(d,'visibilitychange',()=>{d.hidden?(rep(),Vs=0,vit(),F()):Vs=now()});
 on(w,'pagehide',()=>{rep();vit();Fm.forEach(v=>E('form',{form:v[0],field:v[1],action:'abandon'}));Fm.clear();E('session_end',{engaged_ms:Math.min(Tot,864e5),scroll:M});F()});
 on(w,'pageshow',e=>e.persisted&&(K=0,Vs=now(),pv()));
 ob('paint',e=>e.name=='first-contentful-paint'&&vi('FCP',e.startTime));
 ob('largest-contentful-paint',e=>VT.LCP=e.startTime);
 ob('layout-shift',e=>e.hadRecentInput||(VT.CLS=(VT.CLS||0)+e.value));
 ob('event',e=>e.interactionId&&(VT.INP=Math.max(VT.INP||0,e.duration)));
 nt&&vi('TTFB',Math.max(0,nt.responseStart-(nt.activationStart||0)));
 pv();q.forEach(a=>pa.apply(0,a))
})()
}catch(x){}}(window,document,navigator,location)
